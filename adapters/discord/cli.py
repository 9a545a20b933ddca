"""``kizuna discord register-commands [--guild ID]``: install Kizuna's commands and print the invite URL."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from adapters.discord.commands import BOT_PERMISSIONS, command_definitions, invite_url
from adapters.discord.rest import DiscordHTTPError, RestClient
from adapters.discord.settings import DiscordSettings
from core.config import ConfigurationError, Settings


async def register_commands(settings: Settings, out: TextIO, *, guild_id: str | None = None,
                            rest: RestClient | None = None) -> int:
    """Bulk-overwrite the application's commands (globally, or in one guild), then print the invite URL."""
    discord = DiscordSettings.read(settings)
    missing = [name for name, value in (("DISCORD_APPLICATION_ID", discord.application_id),
                                        ("DISCORD_BOT_TOKEN", discord.bot_token)) if not value]
    if missing:
        raise ConfigurationError(f"{' and '.join(missing)} must be set to register Discord commands "
                                 "(Developer Portal → your application → General Information / Bot)")
    client = rest or RestClient(discord.api_base, discord.bot_token)
    commands = command_definitions()
    try:
        registered: Any = await client.bulk_overwrite_commands(discord.application_id, commands, guild_id)
    except DiscordHTTPError as error:
        hint = {401: "check DISCORD_BOT_TOKEN", 403: "is the bot in that server with the applications.commands scope?",
                404: "check DISCORD_APPLICATION_ID and --guild"}.get(error.status, "")
        raise ConfigurationError(f"Discord refused the commands: {error}" + (f" ({hint})" if hint else "")) from None
    finally:
        if rest is None:
            await client.close()
    where = f"in server {guild_id} (available at once)" if guild_id else "globally"
    names = ", ".join(f"/{c['name']}" if c.get("type", 1) == 1 else f"“{c['name']}”" for c in commands)
    print(f"Registered {len(registered) if isinstance(registered, list) else len(commands)} commands {where}: "
          f"{names}", file=out)
    print(f"Invite Kizuna with exactly the permissions it needs (permissions={BOT_PERMISSIONS}: view channels, "
          "send messages, embed links, create events):", file=out)
    print(invite_url(discord.application_id), file=out)
    return 0


def cmd_register_commands(settings: Settings, args: argparse.Namespace, out: TextIO) -> Any:
    """The ``register-commands`` handler (returns a coroutine that ``kizuna.cli.main`` runs)."""
    return register_commands(settings, out, guild_id=args.guild)


def add_cli(subparsers: Any) -> None:
    """Add ``kizuna discord …`` to the ``kizuna`` command."""
    parser = subparsers.add_parser("discord", help="Discord: register the slash commands, print the invite URL")
    sub = parser.add_subparsers(dest="discord_command", required=True, metavar="COMMAND")
    register = sub.add_parser("register-commands",
                              help="install /thanks, /leaderboard, /values, /help, /kizuna, /meeting and “Send thanks” "
                                   "(bulk overwrite), then print the invite URL")
    register.add_argument("--guild", metavar="ID",
                          help="register in one server only (instant; global commands can take a while)")
    register.set_defaults(handler=cmd_register_commands)
