"""The pure interaction handler: a verified interaction payload in, an interaction response out.

It only translates: payload → a core call → a core result → ``cards`` → ``render``. It never
raises: a broken rule becomes an ephemeral, localised reply, and anything unexpected is logged
and answered with a polite ephemeral apology. The transport (``adapters.discord.transport``)
verifies signatures and decides between answering inline and deferring.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from adapters.discord import ids, limits, wire
from adapters.discord.meetings import MEETING_THANKS_FORM, MeetingCommands
from adapters.discord.render import allowed_mentions, decode_action, escape, render
from adapters.discord.rest import RestClient
from adapters.discord.wire import GuildMember, Interaction, InteractionResponse, Option, Resolved, User
from cards.build import error_message, help_message, leaderboard_message, notice_message, thanks_message, values_message
from core.errors import InvalidSetting, KizunaError
from core.i18n import fold, normalize_locale, resolve_locale, translate
from core.models import Member, Workspace
from core.services.access import require_admin
from core.services.admins import sync_platform_admin
from core.services.members import ensure_member, get_department, list_departments, map_role_to_department
from core.services.stats import Direction, Period, leaderboard
from core.services.thanks import MAX_RECIPIENTS, clap, give_thanks
from core.services.value_search import suggest_values
from core.services.values import add_value, list_values, set_value_active
from core.services.workspaces import ensure_workspace, settings_view, update_settings

log = logging.getLogger("kizuna.discord")

PLATFORM = "discord"
THANKS_FORM = "kizuna:thanksform:"
# Commands whose every answer is only for the person who asked.
EPHEMERAL_COMMANDS = frozenset({"help", "kizuna"})
# Commands that answer with a modal: a modal cannot follow a deferral.
MODAL_COMMANDS = frozenset({"Send thanks"})
# How long a workspace or member read from the database is reused (see IdentityCache).
DEFAULT_CACHE_TTL = 5.0


class GuildOnly(Exception):
    """The interaction came from a DM; Kizuna lives in servers."""


@dataclass(frozen=True)
class Caller:
    """Who is asking, where, in which language."""

    workspace: Workspace
    member: Member
    locale: str


ActionHandler = Callable[[Interaction, Caller, dict[str, str], str], Awaitable[InteractionResponse]]


def message_response(data: dict[str, Any], kind: int = wire.CHANNEL_MESSAGE_WITH_SOURCE) -> InteractionResponse:
    """A callback that posts (4) or updates (7) a message."""
    return {"type": kind, "data": data}


def ephemeral_error(text_id: str, locale: str, **params: Any) -> InteractionResponse:
    """An ephemeral warning with a catalog message."""
    data = {"content": f"⚠️ {escape(translate(locale, text_id, **params))}", "flags": wire.EPHEMERAL,
            "allowed_mentions": allowed_mentions()}
    return message_response(data)


def interaction_locale(interaction: Interaction) -> str:
    """The invoking member's language, else the server's, else Japanese."""
    return resolve_locale(interaction.get("locale"), interaction.get("guild_locale"))


def options_of(options: list[Option] | None) -> dict[str, Any]:
    """``[{name, value}, …]`` → ``{name: value}`` (sub-commands keep their own options)."""
    return {o["name"]: o.get("value") for o in options or [] if "name" in o}


def focused_option(options: list[Option] | None) -> tuple[str, str]:
    """The option being typed in an autocomplete, searched through sub-commands."""
    for option in options or []:
        if option.get("focused"):
            return option["name"], str(option.get("value") or "")
        if option.get("options"):
            found = focused_option(option.get("options"))
            if found[0]:
                return found
    return "", ""


def display_name(member: GuildMember | None, user: User) -> str:
    """Server nickname, else global display name, else user name."""
    return (member or {}).get("nick") or user.get("global_name") or user.get("username") or user["id"]


def modal_fields(components: list[dict[str, Any]]) -> dict[str, Any]:
    """``{custom_id: value or values}`` from a modal submit (labels, or legacy action rows)."""
    found: dict[str, Any] = {}

    def walk(component: dict[str, Any]) -> None:
        if "custom_id" in component and ("value" in component or "values" in component):
            found[component["custom_id"]] = component.get("values", component.get("value"))
        if isinstance(component.get("component"), dict):
            walk(component["component"])
        for child in component.get("components", []) or []:
            if isinstance(child, dict):
                walk(child)

    for component in components:
        if isinstance(component, dict):
            walk(component)
    return found


# Commands and buttons whose answer depends on the caller's rights: never from the cache.
RIGHTS_COMMANDS = frozenset({"kizuna", "meeting"})
RIGHTS_ACTIONS = frozenset({"rsvps"})


class IdentityCache:
    """Workspaces and members seen in the last ``ttl`` seconds, so a busy server skips re-reading them.

    A member is reused only while Discord describes them exactly as before (name, locale, roles);
    an admin command in this process forgets the whole server at once; other processes see a
    change after at most ``ttl`` seconds. ``ttl=0`` turns the cache off.
    """

    def __init__(self, ttl: float, max_entries: int = 20_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._workspaces: dict[str, tuple[float, Workspace]] = {}
        self._members: dict[tuple[int, str], tuple[float, tuple[Any, ...], Member]] = {}

    def workspace(self, guild_id: str) -> Workspace | None:
        entry = self._workspaces.get(guild_id)
        return entry[1] if entry and entry[0] > time.monotonic() else None

    def keep_workspace(self, guild_id: str, workspace: Workspace) -> None:
        if self.ttl > 0:
            if len(self._workspaces) >= self.max_entries:
                self._workspaces.clear()
            self._workspaces[guild_id] = (time.monotonic() + self.ttl, workspace)

    def member(self, workspace_id: int, user_id: str, fingerprint: tuple[Any, ...]) -> Member | None:
        entry = self._members.get((workspace_id, user_id))
        if entry and entry[0] > time.monotonic() and entry[1] == fingerprint:
            return entry[2]
        return None

    def keep_member(self, workspace_id: int, user_id: str, fingerprint: tuple[Any, ...], member: Member) -> None:
        if self.ttl > 0:
            if len(self._members) >= self.max_entries:
                self._members.clear()
            self._members[(workspace_id, user_id)] = (time.monotonic() + self.ttl, fingerprint, member)

    def forget(self, workspace: Workspace) -> None:
        self._workspaces.pop(workspace.external_id, None)
        for key in [k for k in self._members if k[0] == workspace.id]:
            del self._members[key]


class InteractionHandler:
    """Answers application commands, autocompletes, button clicks and modal submits."""

    def __init__(self, *, cache_ttl: float = DEFAULT_CACHE_TTL, rest: RestClient | None = None) -> None:
        self.meetings = MeetingCommands(rest)
        self.actions: dict[str, ActionHandler] = {
            "clap": self._clap, "rsvp": self._rsvp, "rsvps": self._rsvps, "thank_attendees": self._thank_attendees,
        }
        self.cache = IdentityCache(cache_ttl)

    async def handle(self, interaction: Interaction) -> InteractionResponse:
        """The response to one verified, well-formed interaction; never raises."""
        locale = interaction_locale(interaction)
        kind = interaction.get("type")
        try:
            return await self._dispatch(interaction)
        except GuildOnly:
            return ephemeral_error("discord.guild_only", locale)
        except KizunaError as error:
            if kind == wire.APPLICATION_COMMAND_AUTOCOMPLETE:
                return {"type": wire.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, "data": {"choices": []}}
            return message_response(render(error_message(error, locale)))
        except Exception:
            log.exception("interaction %s (type %s) failed", interaction.get("id"), kind)
            if kind == wire.APPLICATION_COMMAND_AUTOCOMPLETE:
                return {"type": wire.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, "data": {"choices": []}}
            return ephemeral_error("error.internal", locale)

    # ---- who is asking ------------------------------------------------------------------------

    async def _workspace(self, interaction: Interaction) -> Workspace:
        guild_id = interaction.get("guild_id")
        if not guild_id or "member" not in interaction:
            raise GuildOnly()
        cached = self.cache.workspace(guild_id)
        if cached is not None:
            return cached
        workspace = await ensure_workspace(PLATFORM, guild_id, name=guild_id,
                                           default_locale=normalize_locale(interaction.get("guild_locale")))
        self.cache.keep_workspace(guild_id, workspace)
        return workspace

    async def _member(self, workspace: Workspace, user_id: str, *, display_name: str | None = None,
                      locale: str | None = None, is_bot: bool = False,
                      role_ids: list[str] | None = None, fresh: bool = False) -> Member:
        """``ensure_member``, skipped while the same person looked the same a moment ago (unless ``fresh``)."""
        fingerprint = (display_name, normalize_locale(locale), is_bot, tuple(sorted(role_ids or ())),
                       role_ids is None)
        cached = None if fresh else self.cache.member(workspace.id, user_id, fingerprint)
        if cached is not None:
            return cached
        member = await ensure_member(workspace, user_id, display_name=display_name, locale=locale, is_bot=is_bot,
                                     role_ids=role_ids)
        self.cache.keep_member(workspace.id, user_id, fingerprint, member)
        return member

    async def _caller(self, interaction: Interaction, *, fresh: bool = False) -> Caller:
        """Who is asking. ``fresh`` (anything that checks rights) reads the member from the database,
        so a grant or revocation made elsewhere (another process, ``kizuna members import``) counts at once."""
        workspace = await self._workspace(interaction)
        guild_member = interaction["member"]
        user = guild_member["user"]
        member = await self._member(workspace, user["id"], display_name=display_name(guild_member, user),
                                    locale=interaction.get("locale"), is_bot=bool(user.get("bot")),
                                    role_ids=list(guild_member.get("roles", [])), fresh=fresh)
        try:
            permissions = int(guild_member.get("permissions") or "0")  # a string; absent or null: none
        except ValueError:
            permissions = 0
        await sync_platform_admin(member, bool(permissions & (wire.MANAGE_GUILD | wire.ADMINISTRATOR)))
        return Caller(workspace, member, resolve_locale(interaction.get("locale"), workspace.default_locale))

    async def _resolved_member(self, workspace: Workspace, user_id: str, resolved: Resolved) -> Member:
        user = resolved.get("users", {}).get(user_id)
        guild_member = resolved.get("members", {}).get(user_id)
        if user is None:
            # Not resolved (should not happen): keep what we know rather than naming them by id.
            return await ensure_member(workspace, user_id)
        return await self._member(workspace, user_id, display_name=display_name(guild_member, user),
                                  is_bot=bool(user.get("bot")),
                                  role_ids=list(guild_member.get("roles", [])) if guild_member else None)

    # ---- dispatch -----------------------------------------------------------------------------

    async def _dispatch(self, interaction: Interaction) -> InteractionResponse:
        kind = interaction["type"]
        data = interaction.get("data", {})
        if kind == wire.APPLICATION_COMMAND:
            name = data.get("name", "")
            caller = await self._caller(interaction, fresh=name in RIGHTS_COMMANDS)
            if data.get("type") == wire.USER_COMMAND and name in MODAL_COMMANDS:
                return await self._open_thanks_form(interaction, caller)
            command = getattr(self, f"_cmd_{name}", None) if data.get("type", wire.CHAT_INPUT) == wire.CHAT_INPUT \
                else None
            if command is None:
                return ephemeral_error("error.unknown_command", caller.locale, command=f"/{name}")
            response: InteractionResponse = await command(interaction, caller, data)
            return response
        if kind == wire.APPLICATION_COMMAND_AUTOCOMPLETE:
            return await self._autocomplete(interaction)
        if kind == wire.MESSAGE_COMPONENT:
            decoded = decode_action(data.get("custom_id", ""))
            caller = await self._caller(interaction, fresh=decoded is not None and decoded[0] in RIGHTS_ACTIONS)
            action = self.actions.get(decoded[0]) if decoded else None
            if decoded is None or action is None:
                return ephemeral_error("discord.unsupported_action", caller.locale)
            return await action(interaction, caller, decoded[1], decoded[2])
        if kind == wire.MODAL_SUBMIT:
            caller = await self._caller(interaction)
            custom_id = data.get("custom_id", "")
            if custom_id.startswith(THANKS_FORM):
                return await self._submit_thanks_form(interaction, caller, custom_id[len(THANKS_FORM):])
            if custom_id.startswith(MEETING_THANKS_FORM):
                return await self._submit_meeting_thanks(interaction, caller)
            return ephemeral_error("discord.unsupported_action", caller.locale)
        return ephemeral_error("error.unknown_command", interaction_locale(interaction), command=str(kind))

    # ---- /thanks, the context menu and its modal ----------------------------------------------

    async def _post_thanks(self, interaction: Interaction, caller: Caller, recipients: list[Member], message: str,
                           tags: list[str]) -> InteractionResponse:
        result = await give_thanks(caller.workspace, caller.member, recipients, message, tags,
                                   idempotency_key=f"discord:{interaction['id']}",
                                   channel_ref=interaction.get("channel_id"))
        view = thanks_message(result.view, caller.locale, caller.workspace.timezone)
        return message_response(render(view))

    async def _cmd_thanks(self, interaction: Interaction, caller: Caller, data: dict[str, Any]) -> InteractionResponse:
        options = options_of(data.get("options"))
        resolved = cast(Resolved, data.get("resolved") or {})
        recipients = [await self._resolved_member(caller.workspace, ids.user_id(options[key]), resolved)
                      for key in ("user", "user2", "user3") if options.get(key)]
        tags = [str(options["value"])] if options.get("value") else []
        return await self._post_thanks(interaction, caller, recipients, str(options.get("message") or ""), tags)

    async def _open_thanks_form(self, interaction: Interaction, caller: Caller) -> InteractionResponse:
        data = interaction["data"]
        target_id = ids.user_id(data.get("target_id", ""))
        target = await self._resolved_member(caller.workspace, target_id, data.get("resolved") or {})
        locale = caller.locale
        message_input = {
            "type": wire.TEXT_INPUT, "custom_id": "message", "style": wire.TEXT_PARAGRAPH, "required": True,
            "min_length": 1, "max_length": max(1, min(caller.workspace.max_message_length, limits.TEXT_INPUT_MAX)),
            "placeholder": translate(locale, "discord.modal.message_placeholder"),
        }
        components: list[dict[str, Any]] = [
            {"type": wire.LABEL, "label": translate(locale, "discord.modal.message"), "component": message_input},
        ]
        options = await self._value_options(caller.workspace, locale)
        if options:
            components.append({"type": wire.LABEL, "label": translate(locale, "discord.modal.value"), "component": {
                "type": wire.STRING_SELECT, "custom_id": "value", "required": False, "min_values": 0,
                "max_values": 1, "placeholder": translate(locale, "discord.modal.value_placeholder"),
                "options": options}})
        modal = {"custom_id": f"{THANKS_FORM}{target.platform_user_id}",
                 "title": translate(locale, "discord.modal.title", name=target.display_name),
                 "components": components}
        return {"type": wire.MODAL, "data": limits.fit_modal(modal)}

    @staticmethod
    async def _value_options(workspace: Workspace, locale: str) -> list[dict[str, Any]]:
        """The server's values as select options, in the asker's language first."""
        return [{"label": f"{v.emoji} {v.name_ja if locale == 'ja' else v.name_en}".strip(), "value": v.key,
                 "description": v.name_en if locale == "ja" else v.name_ja} for v in await list_values(workspace)]

    async def _submit_thanks_form(self, interaction: Interaction, caller: Caller,
                                  target_id: str) -> InteractionResponse:
        fields = modal_fields(interaction["data"].get("components", []))
        target = await ensure_member(caller.workspace, ids.user_id(target_id))
        value = fields.get("value") or []
        tags = [str(v) for v in (value if isinstance(value, list) else [value]) if v]
        return await self._post_thanks(interaction, caller, [target], str(fields.get("message") or ""), tags)

    # ---- 👏 -----------------------------------------------------------------------------------

    async def _clap(self, interaction: Interaction, caller: Caller, data: dict[str, str],
                    message_locale: str) -> InteractionResponse:
        try:
            thanks_id = int(data.get("thanks_id", ""))
        except ValueError:
            return ephemeral_error("discord.unsupported_action", caller.locale)
        result = await clap(caller.workspace, thanks_id, caller.member)
        if not result.changed:
            return message_response(render(notice_message(caller.locale, "notice.already_clapped"), ephemeral=True))
        # The message is everyone's: it keeps the language it was posted in.
        lang = normalize_locale(message_locale) or caller.workspace.default_locale
        view = thanks_message(result.view, lang, caller.workspace.timezone)
        return message_response(render(view), wire.UPDATE_MESSAGE)

    # ---- /meeting, RSVP buttons, thanking attendees ------------------------------------------

    async def _cmd_meeting(self, interaction: Interaction, caller: Caller, data: dict[str, Any]) -> InteractionResponse:
        return await self.meetings.command(interaction, caller.workspace, caller.member, caller.locale, data)

    async def _rsvp(self, interaction: Interaction, caller: Caller, data: dict[str, str],
                    message_locale: str) -> InteractionResponse:
        return await self.meetings.rsvp(interaction, caller.workspace, caller.member, data, message_locale)

    async def _rsvps(self, interaction: Interaction, caller: Caller, data: dict[str, str],
                     message_locale: str) -> InteractionResponse:
        return await self.meetings.rsvps(interaction, caller.workspace, caller.member, data, caller.locale)

    async def _thank_attendees(self, interaction: Interaction, caller: Caller, data: dict[str, str],
                               message_locale: str) -> InteractionResponse:
        return await self.meetings.thank_attendees(
            interaction, caller.workspace, caller.member, data, caller.locale,
            await self._value_options(caller.workspace, caller.locale), MAX_RECIPIENTS,
            caller.workspace.max_message_length)

    async def _submit_meeting_thanks(self, interaction: Interaction, caller: Caller) -> InteractionResponse:
        data = interaction["data"]
        fields = modal_fields(data.get("components", []))
        people = fields.get("people") or []
        resolved: Resolved = data.get("resolved") or {}
        recipients = [await self._resolved_member(caller.workspace, ids.user_id(uid), resolved)
                      for uid in (people if isinstance(people, list) else [people]) if uid]
        value = fields.get("value") or []
        tags = [str(v) for v in (value if isinstance(value, list) else [value]) if v]
        return await self._post_thanks(interaction, caller, recipients, str(fields.get("message") or ""), tags)

    # ---- /leaderboard, /values, /help ---------------------------------------------------------

    async def _cmd_leaderboard(self, interaction: Interaction, caller: Caller,
                               data: dict[str, Any]) -> InteractionResponse:
        options = options_of(data.get("options"))
        period = Period(options["period"]) if options.get("period") in tuple(Period) else Period.MONTH
        direction = Direction(options["direction"]) if options.get("direction") in tuple(Direction) \
            else Direction.RECEIVED
        department = await get_department(caller.workspace, str(options["department"])) \
            if options.get("department") else None
        board = await leaderboard(caller.workspace, period, direction, department=department)
        return message_response(render(leaderboard_message(board, caller.locale)))

    async def _cmd_values(self, interaction: Interaction, caller: Caller, data: dict[str, Any]) -> InteractionResponse:
        values = await list_values(caller.workspace)
        return message_response(render(values_message(values, caller.locale)))

    async def _cmd_help(self, interaction: Interaction, caller: Caller, data: dict[str, Any]) -> InteractionResponse:
        return message_response(render(help_message(PLATFORM, caller.locale), ephemeral=True))

    # ---- /kizuna (admins) ---------------------------------------------------------------------

    async def _cmd_kizuna(self, interaction: Interaction, caller: Caller, data: dict[str, Any]) -> InteractionResponse:
        require_admin(caller.member)
        # Settings, departments or values may change: this process forgets what it cached of the server.
        self.cache.forget(caller.workspace)
        subcommands = data.get("options") or []
        if not subcommands:
            return ephemeral_error("error.unknown_command", caller.locale, command="/kizuna")
        sub = subcommands[0]
        options = options_of(sub.get("options"))
        workspace, member, locale = caller.workspace, caller.member, caller.locale

        def done(message_id: str, **params: Any) -> InteractionResponse:
            return message_response(render(notice_message(locale, message_id, **params), ephemeral=True))

        name = sub.get("name")
        if name == "feed-channel":
            channel = ids.channel_id(options["channel"]) if options.get("channel") else ""
            await update_settings(workspace, member, feed_channel=channel)
            return done("notice.feed_set" if channel else "discord.feed_cleared")
        if name == "department-role":
            department = await map_role_to_department(workspace, member, ids.role_id(options.get("role") or ""),
                                                      str(options.get("department") or ""))
            return done("notice.department_role_set", department=department.name)
        if name == "values-add":
            description = str(options.get("description") or "")
            value = await add_value(workspace, member, str(options.get("key") or ""),
                                    str(options.get("name-en") or ""), str(options.get("name-ja") or ""),
                                    str(options.get("emoji") or ""),
                                    description_en=description if locale == "en" else "",
                                    description_ja=description if locale == "ja" else "")
            return done("notice.value_added", key=value.key)
        if name == "values-archive":
            restore = bool(options.get("restore"))
            value = await set_value_active(workspace, member, str(options.get("value") or ""), restore)
            return done("notice.value_restored" if restore else "notice.value_archived", key=value.key)
        if name == "settings":
            setting, new_value = options.get("setting"), options.get("new-value")
            if setting and new_value is not None:
                await update_settings(workspace, member, **{str(setting): str(new_value)})
            elif setting or new_value is not None:
                raise InvalidSetting(name=str(setting or "?"), allowed="setting + new-value")
            return message_response(self._settings_payload(workspace, locale, saved=bool(setting)))
        return ephemeral_error("error.unknown_command", locale, command=f"/kizuna {name}")

    def _settings_payload(self, workspace: Workspace, locale: str, *, saved: bool) -> dict[str, Any]:
        none = translate(locale, "discord.settings.none")
        fields = []
        for name, value in settings_view(workspace).items():
            if name == "feed_channel":
                shown = f"<#{value}>" if value and str(value).isdigit() else none
            elif isinstance(value, bool):
                shown = "on" if value else "off"
            else:
                shown = escape(str(value)) if value not in (None, "") else none
            fields.append({"name": translate(locale, f"discord.setting.{name}"), "value": f"{shown} (`{name}`)",
                           "inline": True})
        data = {"embeds": [{"title": translate(locale, "discord.settings.title"), "fields": fields}],
                "flags": wire.EPHEMERAL, "allowed_mentions": allowed_mentions()}
        if saved:
            data["content"] = escape(translate(locale, "notice.settings_saved"))
        return limits.fit_message(data)

    # ---- autocomplete -------------------------------------------------------------------------

    async def _autocomplete(self, interaction: Interaction) -> InteractionResponse:
        data = interaction.get("data", {})
        workspace = await self._workspace(interaction)
        locale = resolve_locale(interaction.get("locale"), workspace.default_locale)
        option, typed = focused_option(data.get("options"))
        choices: list[dict[str, Any]] = []
        if option == "value":
            archive = data.get("name") == "kizuna"
            for v in await suggest_values(workspace, typed, include_archived=archive):
                name, other = (v.name_ja, v.name_en) if locale == "ja" else (v.name_en, v.name_ja)
                label = f"{v.emoji} {name} / {other} #{v.key}".strip()
                choices.append({"name": label, "value": v.key})
        elif data.get("name") == "meeting":
            sub = (data.get("options") or [{}])[0]
            choices = await self.meetings.autocomplete(workspace, locale, option, typed,
                                                       options_of(sub.get("options")))
        elif option == "department":
            wanted = fold(typed)
            choices = [{"name": d.name, "value": d.name[:limits.CHOICE_VALUE]}
                       for d in await list_departments(workspace) if wanted in fold(d.name)]
        return {"type": wire.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, "data": {"choices": limits.fit_choices(choices)}}
