"""``/mixer`` on Discord (``/ミキサー``): create, list, show, join, leave, pause, skip, end, invite.

Only translation: options → ``core.app.mixer_commands`` → ``execute`` → the outcome's message.
"""

from __future__ import annotations

from typing import Any

from adapters.discord import wire
from adapters.discord.routing import Request, Route, private, text
from core.app import commands as c
from core.app import mixer_commands as m
from core.i18n import translate

REPEAT_CHOICES = ("weekly", "biweekly", "monthly", "none")


def _required(request: Request, name: str) -> str:
    return text(request.options, name) or ""


def _create(request: Request) -> c.Command:
    size = request.options.get("size")
    return m.CreateMixer(_required(request, "name"), _required(request, "start"), text(request.options, "repeat"),
                         str(size) if size is not None else None, text(request.options, "place") or "",
                         text(request.options, "announce"), text(request.options, "timezone"))


def _by_id(kind: Any) -> Any:
    return lambda request: kind(_required(request, "mixer"))


MIXER_ROUTES: dict[str, Route] = {
    "create": Route(_create),
    "list": Route(lambda r: m.ListMixers()),
    "show": Route(_by_id(m.ShowMixer), private),
    "join": Route(_by_id(m.JoinMixer), private),
    "leave": Route(_by_id(m.LeaveMixer), private),
    "pause": Route(lambda r: m.PauseMixer(_required(r, "mixer"), _required(r, "until")), private),
    "skip": Route(_by_id(m.SkipMixerRound), private),
    "end": Route(_by_id(m.EndMixer)),
    "invite": Route(lambda r: m.InviteDepartment(_required(r, "mixer"), _required(r, "department")), private),
}


def _localized(message_id: str) -> dict[str, str]:
    return {"ja": translate("ja", message_id)}


def _named(message_id: str) -> dict[str, Any]:
    return {"name": translate("en", message_id), "name_localizations": _localized(message_id),
            "description": translate("en", f"{message_id}.desc"),
            "description_localizations": _localized(f"{message_id}.desc")}


def _option(name: str, kind: int, *, required: bool = False, **extra: Any) -> dict[str, Any]:
    option = {**_named(f"discord.mixer.opt.{name}"), "type": kind, **extra}
    if required:
        option["required"] = True
    return option


def _sub(name: str, options: list[dict[str, Any]]) -> dict[str, Any]:
    return {**_named(f"discord.mixer.sub.{name}"), "type": wire.OPT_SUB_COMMAND, "options": options}


def mixer_command() -> dict[str, Any]:
    """The ``/mixer`` definition, in Discord's bulk-overwrite format."""
    which = _option("mixer", wire.OPT_STRING, required=True, max_length=20)
    return {
        **_named("discord.mixer.cmd"), "type": wire.CHAT_INPUT, "contexts": [0], "integration_types": [0],
        "options": [
            _sub("create", [
                _option("name", wire.OPT_STRING, required=True, min_length=1, max_length=200),
                _option("start", wire.OPT_STRING, required=True, min_length=10, max_length=20),
                _option("repeat", wire.OPT_STRING, choices=[
                    {"name": translate("en", f"discord.meeting.repeat.{r}"), "value": r,
                     "name_localizations": _localized(f"discord.meeting.repeat.{r}")} for r in REPEAT_CHOICES]),
                _option("size", wire.OPT_INTEGER, min_value=2, max_value=6),
                _option("place", wire.OPT_STRING, max_length=500),
                _option("announce", wire.OPT_STRING, max_length=20),
                _option("timezone", wire.OPT_STRING, max_length=64),
            ]),
            _sub("list", []),
            _sub("show", [which]),
            _sub("join", [which]),
            _sub("leave", [which]),
            _sub("pause", [which, _option("until", wire.OPT_STRING, required=True, min_length=8, max_length=10)]),
            _sub("skip", [which]),
            _sub("end", [which]),
            _sub("invite", [which, _option("department", wire.OPT_STRING, required=True, max_length=100)]),
        ],
    }
