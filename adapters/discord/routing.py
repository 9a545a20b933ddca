"""What the handler's tables hold: a route builds a core command from an interaction, and answers
its outcome in Discord's terms.

A ``Request`` is the interaction before anyone is looked up (so a route can build its command
from the options alone, and the command decides whether its caller is read fresh); a ``Turn`` is
the same request once the workspace and the caller are known, with the ``Context`` it runs in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from adapters.discord import ids, limits, wire
from adapters.discord.render import render
from adapters.discord.wire import GuildMember, Interaction, InteractionResponse, Option, Resolved, User
from cards.model import Message
from cards.outcomes import Audience, render_outcome
from core.app import commands as c
from core.app import outcomes as o
from core.app.execute import Context, execute
from core.i18n import translate
from core.services.members import Person
from core.services.thanks import MAX_RECIPIENTS, MAX_VALUES
from core.views import ValueRef

PLATFORM = "discord"


class Unsupported(Exception):
    """Nothing answers this interaction (an unknown command, button or form); the reply says so."""

    def __init__(self, text_id: str, **params: Any) -> None:
        super().__init__(text_id)
        self.text_id = text_id
        self.params = params


def options_of(options: list[Option] | None) -> dict[str, Any]:
    """``[{name, value}, …]`` → ``{name: value}`` (sub-commands keep their own options)."""
    return {o["name"]: o.get("value") for o in options or [] if "name" in o}


def display_name(member: GuildMember | None, user: User) -> str:
    """Server nickname, else global display name, else user name."""
    return (member or {}).get("nick") or user.get("global_name") or user.get("username") or user["id"]


def text(options: Mapping[str, Any], name: str) -> str | None:
    """An option's text, or None when it was left empty."""
    value = options.get(name)
    return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class Request:
    """An interaction before anyone is looked up: its options (of the command or subcommand, a
    button's data, or a form's fields), the people Discord resolved, and the asker's language."""

    interaction: Interaction
    options: Mapping[str, Any]
    locale: str
    resolved: Resolved = field(default_factory=lambda: Resolved())
    # A button's: the language of the message it is on; a form's: what its custom id carries.
    tail: str = ""

    def person(self, value: Any) -> Person:
        """The user an option or a user select names, as Discord describes them."""
        user_id = ids.user_id(value)
        user = self.resolved.get("users", {}).get(user_id)
        if user is None:  # not resolved (should not happen): keep what we know rather than name them by id
            return Person(user_id)
        guild_member = self.resolved.get("members", {}).get(user_id)
        roles = tuple(guild_member.get("roles", [])) if guild_member else None
        return Person(user_id, display_name(guild_member, user), None, bool(user.get("bot")), roles)


@dataclass(frozen=True)
class Turn:
    """A request once the workspace and the caller are known."""

    request: Request
    context: Context

    @property
    def locale(self) -> str:
        return self.context.locale

    def audience(self, locale: str | None = None) -> Audience:
        """Who reads the answer (``locale``: a message that keeps its own language)."""
        return Audience(locale or self.context.locale, self.context.workspace.timezone, PLATFORM)

    def message(self, outcome: o.Outcome, locale: str | None = None) -> Message:
        return render_outcome(outcome, self.audience(locale))

    async def run(self, command: c.Command) -> o.Outcome:
        """Another command in the same turn (what a form or a redrawn card shows)."""
        return await execute(self.context, command)


def listed(value: Any) -> list[str]:
    """A select's value or values, as a list of non-empty strings."""
    return [str(v) for v in (value if isinstance(value, list) else [value]) if v]


def value_options(values: tuple[ValueRef, ...], locale: str) -> list[dict[str, Any]]:
    """The server's values as select options, in the asker's language first."""
    return [{"label": f"{v.emoji} {v.name_ja if locale == 'ja' else v.name_en}".strip(), "value": v.key,
             "description": v.name_en if locale == "ja" else v.name_ja} for v in values]


async def values_for_form(turn: Turn) -> list[dict[str, Any]]:
    """The value choices a thanks form offers."""
    outcome = await turn.run(c.ListValues())
    return value_options(cast(o.ValuesListed, outcome).values, turn.locale)


def max_message(turn: Turn) -> int:
    return max(1, min(turn.context.workspace.max_message_length, limits.TEXT_INPUT_MAX))


Build = Callable[[Request], c.Command]
Reply = Callable[[Turn, o.Outcome], Awaitable[InteractionResponse]]


def response(data: dict[str, Any], kind: int = wire.CHANNEL_MESSAGE_WITH_SOURCE) -> InteractionResponse:
    """A callback that posts (4) or updates (7) a message."""
    return {"type": kind, "data": limits.fit_message(data)}


async def public(turn: Turn, outcome: o.Outcome) -> InteractionResponse:
    """The outcome's message, for everyone in the channel."""
    return response(render(turn.message(outcome)))


async def private(turn: Turn, outcome: o.Outcome) -> InteractionResponse:
    """The outcome's message, only for the person who asked."""
    return response(render(turn.message(outcome), ephemeral=True))


@dataclass(frozen=True)
class Route:
    """How one command, subcommand, button or form becomes a core command, and how its outcome is answered."""

    build: Build
    reply: Reply = public


def thanks_modal(turn: Turn, *, custom_id: str, title: str, people: tuple[str, ...] = (), message: str = "",
                 values: tuple[dict[str, Any], ...] | list[dict[str, Any]] = (), chosen: tuple[str, ...] = (),
                 people_hint: str = "discord.modal.people_placeholder",
                 projects: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
                 project: str = "") -> InteractionResponse:
    """One form for a whole thanks: whom (a user select, up to ``MAX_RECIPIENTS``), the message, and
    values (a string select, up to ``MAX_VALUES``), and (when there are open projects) the project, each
    in a Label; prefilled with what is known."""
    locale = turn.locale
    top = max(1, min(MAX_RECIPIENTS, limits.SELECT_OPTIONS))
    select: dict[str, Any] = {"type": wire.USER_SELECT, "custom_id": "people", "required": True, "min_values": 1,
                              "max_values": top, "placeholder": translate(locale, people_hint)}
    if people:
        select["default_values"] = [{"id": uid, "type": "user"} for uid in people[:top]]
    length = max_message(turn)
    message_input: dict[str, Any] = {
        "type": wire.TEXT_INPUT, "custom_id": "message", "style": wire.TEXT_PARAGRAPH, "required": True,
        "min_length": 1, "max_length": length, "placeholder": translate(locale, "discord.modal.message_placeholder")}
    if message:
        message_input["value"] = limits.truncate(message, length)
    components: list[dict[str, Any]] = [
        {"type": wire.LABEL, "label": translate(locale, "discord.modal.people"), "component": select},
        {"type": wire.LABEL, "label": translate(locale, "discord.modal.message"), "component": message_input},
    ]
    options = [dict(v, default=True) if v["value"] in chosen else dict(v) for v in values][:limits.SELECT_OPTIONS]
    if options:
        components.append({"type": wire.LABEL, "label": translate(locale, "discord.modal.values"), "component": {
            "type": wire.STRING_SELECT, "custom_id": "value", "required": False, "min_values": 0,
            "max_values": min(MAX_VALUES, len(options)),
            "placeholder": translate(locale, "discord.modal.value_placeholder"), "options": options}})
    project_choices = [dict(p, default=True) if project and p["value"] == project else dict(p)
                       for p in projects][:limits.SELECT_OPTIONS]
    if project_choices:
        components.append({"type": wire.LABEL, "label": translate(locale, "discord.modal.project"), "component": {
            "type": wire.STRING_SELECT, "custom_id": "project", "required": False, "min_values": 0, "max_values": 1,
            "placeholder": translate(locale, "discord.modal.project_placeholder"), "options": project_choices}})
    return {"type": wire.MODAL, "data": limits.fit_modal({"custom_id": custom_id, "title": title,
                                                           "components": components})}
