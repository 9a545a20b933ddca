"""Kizuna's application commands (for bulk overwrite) and the bot's invite URL.

Every name and description comes from the gettext catalogs: the default (English) text plus
``name_localizations``/``description_localizations`` for Japanese and both English locales, so
Japanese members see ``/ありがとう`` and English members ``/thanks``. Interactions always carry
the default names, which is what the handlers dispatch on.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from adapters.discord import wire
from core.i18n import translate
from core.services.workspaces import SETTINGS

# Discord locale codes each of our languages answers for.
DISCORD_LOCALES = {"ja": ("ja",), "en": ("en-US", "en-GB")}

# Exactly what Kizuna does in a server: see channels, post and embed (feed, reminders), and
# create scheduled events for cross-department meetings.
BOT_PERMISSIONS = (wire.VIEW_CHANNEL | wire.SEND_MESSAGES | wire.EMBED_LINKS | wire.CREATE_EVENTS
                   | wire.CREATE_PRIVATE_THREADS | wire.SEND_MESSAGES_IN_THREADS)  # mixers: a thread per group
OAUTH_SCOPES = ("bot", "applications.commands")
ADMIN_PERMISSIONS = str(wire.MANAGE_GUILD)
# The settings an admin edits with /kizuna settings (the feed channel has its own subcommand).
EDITABLE_SETTINGS = tuple(name for name in SETTINGS if name != "feed_channel")


def _localized(message_id: str) -> dict[str, str]:
    return {code: translate(lang, message_id) for lang, codes in DISCORD_LOCALES.items() for code in codes}


def _named(message_id: str, *, described: bool = True) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": translate("en", message_id), "name_localizations": _localized(message_id)}
    if described:
        entry["description"] = translate("en", f"{message_id}.desc")
        entry["description_localizations"] = _localized(f"{message_id}.desc")
    return entry


def _option(message_id: str, kind: int, *, required: bool = False, description_id: str | None = None,
            **extra: Any) -> dict[str, Any]:
    option = {**_named(message_id), "type": kind, **extra}
    if description_id:
        option["description"] = translate("en", description_id)
        option["description_localizations"] = _localized(description_id)
    if required:
        option["required"] = True
    return option


def _choice(value: str, message_id: str) -> dict[str, Any]:
    return {"name": translate("en", message_id), "name_localizations": _localized(message_id), "value": value}


def _subcommand(message_id: str, options: list[dict[str, Any]]) -> dict[str, Any]:
    return {**_named(message_id), "type": wire.OPT_SUB_COMMAND, "options": options}


def command_definitions() -> list[dict[str, Any]]:
    """Every command Kizuna registers, in Discord's bulk-overwrite format."""
    guild_only = {"contexts": [0], "integration_types": [0]}
    thanks = {
        **_named("discord.cmd.thanks"), "type": wire.CHAT_INPUT, **guild_only,
        "options": [
            # Both may be left empty: /thanks then opens the form (people, message, values in one modal).
            _option("discord.opt.user", wire.OPT_USER),
            _option("discord.opt.message", wire.OPT_STRING, min_length=1, max_length=4000),
            _option("discord.opt.value", wire.OPT_STRING, autocomplete=True, max_length=100),
            _option("discord.opt.user2", wire.OPT_USER),
            _option("discord.opt.user3", wire.OPT_USER),
            _option("discord.opt.project", wire.OPT_STRING, autocomplete=True, max_length=100),
        ],
    }
    leaderboard = {
        **_named("discord.cmd.leaderboard"), "type": wire.CHAT_INPUT, **guild_only,
        "options": [
            _option("discord.opt.period", wire.OPT_STRING, choices=[
                _choice(p, f"period.{p}") for p in ("week", "month", "all")]),
            _option("discord.opt.department", wire.OPT_STRING, autocomplete=True, max_length=100),
            _option("discord.opt.direction", wire.OPT_STRING, choices=[
                _choice(d, f"leaderboard.title.{d}") for d in ("received", "sent")]),
        ],
    }
    values = {**_named("discord.cmd.values"), "type": wire.CHAT_INPUT, **guild_only}
    help_ = {**_named("discord.cmd.help"), "type": wire.CHAT_INPUT, **guild_only}
    dashboard = {**_named("discord.cmd.dashboard"), "type": wire.CHAT_INPUT, **guild_only}
    member = _option("discord.opt.member", wire.OPT_USER, required=True)
    kizuna = {
        **_named("discord.cmd.kizuna"), "type": wire.CHAT_INPUT, **guild_only,
        "default_member_permissions": ADMIN_PERMISSIONS,
        "options": [
            _subcommand("discord.sub.feed_channel", [
                _option("discord.opt.channel", wire.OPT_CHANNEL, channel_types=list(wire.FEED_CHANNEL_TYPES)),
            ]),
            _subcommand("discord.sub.department_role", [
                _option("discord.opt.role", wire.OPT_ROLE, required=True),
                _option("discord.opt.department", wire.OPT_STRING, required=True, max_length=100,
                        description_id="discord.opt.department_name.desc"),
            ]),
            _subcommand("discord.sub.values_add", [
                _option("discord.opt.key", wire.OPT_STRING, required=True, max_length=64),
                _option("discord.opt.name_en", wire.OPT_STRING, required=True, max_length=64),
                _option("discord.opt.name_ja", wire.OPT_STRING, max_length=64),
                _option("discord.opt.emoji", wire.OPT_STRING, max_length=32),
                _option("discord.opt.description", wire.OPT_STRING, max_length=255),
            ]),
            _subcommand("discord.sub.values_archive", [
                _option("discord.opt.value", wire.OPT_STRING, required=True, autocomplete=True, max_length=100),
                _option("discord.opt.restore", wire.OPT_BOOLEAN),
            ]),
            _subcommand("discord.sub.values_rename", [
                _option("discord.opt.value", wire.OPT_STRING, required=True, autocomplete=True, max_length=100),
                _option("discord.opt.name_en", wire.OPT_STRING, max_length=64),
                _option("discord.opt.name_ja", wire.OPT_STRING, max_length=64),
                _option("discord.opt.emoji", wire.OPT_STRING, max_length=32),
            ]),
            _subcommand("discord.sub.values_reorder", [
                _option("discord.opt.order", wire.OPT_STRING, required=True, max_length=1000),
            ]),
            _subcommand("discord.sub.department_set", [
                member,
                _option("discord.opt.department", wire.OPT_STRING, autocomplete=True, max_length=100,
                        description_id="discord.opt.department_set.desc"),
            ]),
            _subcommand("discord.sub.department_rename", [
                _option("discord.opt.department", wire.OPT_STRING, required=True, autocomplete=True, max_length=100,
                        description_id="discord.opt.department_name.desc"),
                _option("discord.opt.new_name", wire.OPT_STRING, required=True, max_length=100),
            ]),
            _subcommand("discord.sub.department_merge", [
                _option("discord.opt.from", wire.OPT_STRING, required=True, autocomplete=True, max_length=100),
                _option("discord.opt.into", wire.OPT_STRING, required=True, autocomplete=True, max_length=100),
            ]),
            _subcommand("discord.sub.admin_grant", [member]),
            _subcommand("discord.sub.admin_revoke", [member]),
            _subcommand("discord.sub.admins", []),
            _subcommand("discord.sub.setup", []),
            _subcommand("discord.sub.settings", [
                _option("discord.opt.setting", wire.OPT_STRING, choices=[
                    _choice(name, f"discord.setting.{name}") for name in EDITABLE_SETTINGS]),
                _option("discord.opt.new_value", wire.OPT_STRING, max_length=100),
            ]),
            _subcommand("discord.sub.digest", [
                _option("discord.opt.schedule", wire.OPT_STRING, required=True, choices=[
                    _choice(s, f"digest.schedule.{s}") for s in ("weekly", "monthly", "off")]),
            ]),
        ],
    }
    recap = {
        **_named("discord.cmd.recap"), "type": wire.CHAT_INPUT, **guild_only,
        "options": [_option("discord.opt.switch", wire.OPT_STRING, required=True, choices=[
            _choice(s, f"switch.{s}") for s in ("on", "off")])],
    }
    send_thanks = {"name": translate("en", "discord.cmd.send_thanks"), "type": wire.USER_COMMAND,
                   "name_localizations": _localized("discord.cmd.send_thanks"), **guild_only}
    return [thanks, leaderboard, values, help_, kizuna, meeting_command(), mixer_command(), send_thanks, recap,
            project_command(), dashboard]


REPEAT_CHOICES = ("none", "weekly", "biweekly", "monthly", "monthly-nth-weekday")


def _meeting_option(name: str, kind: int, **extra: Any) -> dict[str, Any]:
    return _option(f"discord.meeting.opt.{name}", kind, **extra)


def _series_options(*, create: bool) -> list[dict[str, Any]]:
    """The options of a series, required ones first (only ``create`` requires title and start)."""
    return [
        _meeting_option("title", wire.OPT_STRING, required=create, min_length=1, max_length=200),
        _meeting_option("start", wire.OPT_STRING, required=create, min_length=10, max_length=20),
        _meeting_option("repeat", wire.OPT_STRING, choices=[
            _choice(r, f"discord.meeting.repeat.{r}") for r in REPEAT_CHOICES]),
        _meeting_option("timezone", wire.OPT_STRING, autocomplete=True, max_length=64),
        _meeting_option("remind", wire.OPT_STRING, max_length=60),
        _meeting_option("departments", wire.OPT_STRING, max_length=500),
        _meeting_option("place", wire.OPT_STRING, max_length=500),
        _meeting_option("channel", wire.OPT_CHANNEL, channel_types=list(wire.FEED_CHANNEL_TYPES)),
        _meeting_option("agenda", wire.OPT_STRING, max_length=2000),
        _meeting_option("duration", wire.OPT_INTEGER, min_value=1, max_value=24 * 60),
        _meeting_option("thanks_prompt", wire.OPT_BOOLEAN),
        _meeting_option("project", wire.OPT_STRING, autocomplete=True, max_length=100),
    ]


def meeting_command() -> dict[str, Any]:
    """``/meeting create|list|skip|edit|cancel|rsvps`` (``/ミーティング``)."""
    which = _meeting_option("meeting", wire.OPT_STRING, required=True, autocomplete=True, max_length=20)
    date = _meeting_option("date", wire.OPT_STRING, required=True, autocomplete=True, max_length=20)
    return {
        **_named("discord.meeting.cmd"), "type": wire.CHAT_INPUT, "contexts": [0], "integration_types": [0],
        "options": [
            _subcommand("discord.meeting.sub.create", [
                *_series_options(create=True), _meeting_option("event", wire.OPT_BOOLEAN)]),
            _subcommand("discord.meeting.sub.list", []),
            _subcommand("discord.meeting.sub.skip", [which, date]),
            _subcommand("discord.meeting.sub.edit", [which, *_series_options(create=False)]),
            _subcommand("discord.meeting.sub.cancel", [which]),
            _subcommand("discord.meeting.sub.rsvps", [which, {k: v for k, v in date.items() if k != "required"}]),
        ],
    }


def _project_option(name: str, kind: int, **extra: Any) -> dict[str, Any]:
    return _option(f"discord.project.opt.{name}", kind, **extra)


def _project_fields() -> list[dict[str, Any]]:
    return [
        _project_option("name", wire.OPT_STRING, max_length=100),
        _project_option("purpose", wire.OPT_STRING, max_length=1000),
        _project_option("departments", wire.OPT_STRING, max_length=500),
        _project_option("channel", wire.OPT_CHANNEL, channel_types=list(wire.FEED_CHANNEL_TYPES)),
        _project_option("start", wire.OPT_STRING, max_length=20),
        _project_option("end", wire.OPT_STRING, max_length=20),
    ]


def project_command() -> dict[str, Any]:
    """``/project create|list|show|edit|add|remove|join|close|reopen`` (``/プロジェクト``)."""
    which = _project_option("project", wire.OPT_STRING, required=True, autocomplete=True, max_length=100)
    member = _project_option("member", wire.OPT_USER, required=True)
    more = [_project_option("member2", wire.OPT_USER), _project_option("member3", wire.OPT_USER)]
    return {
        **_named("discord.project.cmd"), "type": wire.CHAT_INPUT, "contexts": [0], "integration_types": [0],
        "options": [
            _subcommand("discord.project.sub.create", [
                _project_option("key", wire.OPT_STRING, required=True, min_length=1, max_length=32),
                *_project_fields(), {**member, "required": False}, *more]),
            _subcommand("discord.project.sub.list", [_project_option("all", wire.OPT_BOOLEAN)]),
            _subcommand("discord.project.sub.show", [which]),
            _subcommand("discord.project.sub.edit", [which, *_project_fields(),
                                                     _project_option("owner", wire.OPT_USER)]),
            _subcommand("discord.project.sub.add", [which, member, *more]),
            _subcommand("discord.project.sub.remove", [which, member]),
            _subcommand("discord.project.sub.join", [which]),
            _subcommand("discord.project.sub.close", [which]),
            _subcommand("discord.project.sub.reopen", [which]),
        ],
    }


def invite_url(application_id: str) -> str:
    """The URL that adds the bot to a server with exactly Kizuna's permissions."""
    query = urlencode({"client_id": application_id, "permissions": str(BOT_PERMISSIONS),
                       "scope": " ".join(OAUTH_SCOPES)})
    return f"https://discord.com/oauth2/authorize?{query}"


MIXER_REPEAT_CHOICES = ("biweekly", "weekly", "monthly", "none")


def _mixer_option(name: str, kind: int, **extra: Any) -> dict[str, Any]:
    return _option(f"discord.mixer.opt.{name}", kind, **extra)


def mixer_command() -> dict[str, Any]:
    """``/mixer create|list|show|join|leave|pause|skip|end|invite`` (``/ミキサー``)."""
    which = _mixer_option("mixer", wire.OPT_STRING, required=True, max_length=20)
    return {
        **_named("discord.mixer.cmd"), "type": wire.CHAT_INPUT, "contexts": [0], "integration_types": [0],
        "options": [
            _subcommand("discord.mixer.sub.create", [
                _mixer_option("name", wire.OPT_STRING, required=True, min_length=1, max_length=200),
                _mixer_option("start", wire.OPT_STRING, required=True, min_length=10, max_length=20),
                _mixer_option("repeat", wire.OPT_STRING, choices=[
                    _choice(r, f"discord.meeting.repeat.{r}") for r in MIXER_REPEAT_CHOICES]),
                _mixer_option("size", wire.OPT_INTEGER, min_value=2, max_value=6),
                _mixer_option("place", wire.OPT_STRING, max_length=500),
                _mixer_option("announce", wire.OPT_STRING, max_length=20),
                _mixer_option("timezone", wire.OPT_STRING, max_length=64),
            ]),
            _subcommand("discord.mixer.sub.list", []),
            _subcommand("discord.mixer.sub.show", [which]),
            _subcommand("discord.mixer.sub.join", [which]),
            _subcommand("discord.mixer.sub.leave", [which]),
            _subcommand("discord.mixer.sub.pause", [
                which, _mixer_option("until", wire.OPT_STRING, required=True, min_length=8, max_length=10)]),
            _subcommand("discord.mixer.sub.skip", [which]),
            _subcommand("discord.mixer.sub.end", [which]),
            _subcommand("discord.mixer.sub.invite", [
                which, _mixer_option("department", wire.OPT_STRING, required=True, max_length=100)]),
        ],
    }
