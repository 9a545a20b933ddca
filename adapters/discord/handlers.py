"""The pure interaction handler: a verified interaction payload in, an interaction response out.

It only translates: an interaction → a ``core.app`` command (built from its options by a route
found in a table) → ``execute`` → the outcome's message (``cards.outcomes``) → ``render``. What is
Discord's own stays here: modals, autocomplete, the settings embed and ephemeral answers. It never
raises: a broken rule becomes an ephemeral, localised reply, and anything unexpected is logged
and answered with a polite ephemeral apology. The transport (``adapters.discord.transport``)
verifies signatures and decides between answering inline and deferring.
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast

from adapters.discord import ids, limits, wire
from adapters.discord.meetings import MEETING_THANKS_FORM, MeetingCommands
from adapters.discord.mixers import MIXER_ACTIONS, MIXER_ROUTES
from adapters.discord.projects import ProjectCommands, project_options, project_select
from adapters.discord.render import allowed_mentions, decode_action, escape, render
from adapters.discord.rest import RestClient
from adapters.discord.routing import (
    PLATFORM,
    Request,
    Route,
    Turn,
    Unsupported,
    display_name,
    listed,
    options_of,
    private,
    public,
    response,
    text,
    thanks_modal,
    value_options,
)
from adapters.discord.wire import Interaction, InteractionResponse, Option, Resolved
from cards.build import error_message
from core import outage
from core.app import commands as c
from core.app import outcomes as o
from core.app.execute import Context, execute
from core.app.identities import DEFAULT_TTL, IdentityCache
from core.db import PoolExhausted
from core.errors import InvalidSetting, KizunaError
from core.i18n import fold, normalize_locale, resolve_locale, translate
from core.models import Member, Workspace
from core.projects.service import suggest_projects
from core.services.admins import sync_platform_admin
from core.services.members import Person, ensure_members, list_departments
from core.services.stats import Direction, Period
from core.services.value_search import suggest_values
from core.services.workspaces import ensure_workspace

log = logging.getLogger("kizuna.discord")

THANKS_FORM = "kizuna:thanksform:"
# Commands whose every answer is only for the person who asked.
EPHEMERAL_COMMANDS = frozenset({"help", "kizuna"})
# Commands that answer with a modal: a modal cannot follow a deferral.
MODAL_COMMANDS = frozenset({"Send thanks"})
# How long a workspace or member read from the database is reused (see core.app.identities).
DEFAULT_CACHE_TTL = DEFAULT_TTL
# Options that name a department, offered from the server's departments as one types.
DEPARTMENT_OPTIONS = frozenset({"department", "from", "into"})
_LIST = re.compile(r"[\s,、，]+")


class GuildOnly(Exception):
    """The interaction came from a DM; Kizuna lives in servers."""


def ephemeral_error(text_id: str, locale: str, **params: Any) -> InteractionResponse:
    """An ephemeral warning with a catalog message."""
    data = {"content": f"⚠️ {escape(translate(locale, text_id, **params))}", "flags": wire.EPHEMERAL,
            "allowed_mentions": allowed_mentions()}
    return {"type": wire.CHANNEL_MESSAGE_WITH_SOURCE, "data": data}


def interaction_locale(interaction: Interaction) -> str:
    """The invoking member's language, else the server's, else Japanese."""
    return resolve_locale(interaction.get("locale"), interaction.get("guild_locale"))


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


# ---- /thanks, the "Send thanks" form, /leaderboard, /values, /help -----------------------------


def opens_form(interaction: Interaction) -> bool:
    """The interaction is answered with a form (a modal cannot follow a deferral): "Send thanks", and
    ``/thanks`` without people or a message."""
    data = interaction.get("data", {})
    if data.get("name") in MODAL_COMMANDS:
        return True
    if data.get("name") != "thanks":
        return False
    given = {o.get("name") for o in data.get("options") or [] if o.get("value") not in (None, "")}
    return "message" not in given or not given & {"user", "user2", "user3"}


def thanks_command(request: Request) -> c.Command:
    """``/thanks`` with people and a message thanks at once; without either it opens the form (the values
    it offers are listed first)."""
    options = request.options
    recipients = tuple(request.person(options[key]) for key in ("user", "user2", "user3") if options.get(key))
    if not recipients or not options.get("message"):
        return c.ListValues()
    return c.GiveThanks(recipients, str(options.get("message") or ""), tuple(listed(options.get("value"))),
                        project_options(request))


def thanks_form_command(request: Request) -> c.Command:
    """A submitted "Send thanks" form: the people picked, the message, up to three values. (A form opened
    before forms had a people select carries whom it thanks in its custom id.)"""
    options = request.options
    people = tuple(request.person(uid) for uid in listed(options.get("people")))
    if not people and request.tail:
        people = (Person(ids.user_id(request.tail)),)
    return c.GiveThanks(people, str(options.get("message") or ""), tuple(listed(options.get("value"))),
                        project_options(request))


def meeting_thanks_command(request: Request) -> c.Command:
    """A submitted "thank attendees" form: the people picked, a message, a value."""
    options = request.options
    people = tuple(request.person(uid) for uid in listed(options.get("people")))
    return c.GiveThanks(people, str(options.get("message") or ""), tuple(listed(options.get("value"))))


def leaderboard_command(request: Request) -> c.Command:
    options = request.options
    period = Period(options["period"]) if options.get("period") in tuple(Period) else Period.MONTH
    direction = Direction(options["direction"]) if options.get("direction") in tuple(Direction) \
        else Direction.RECEIVED
    return c.ShowLeaderboard(period, direction, text(options, "department"))


# ---- 👏 ------------------------------------------------------------------------------------------


def clap_command(request: Request) -> c.Command:
    try:
        return c.Clap(int(request.options.get("thanks_id", "")))
    except ValueError:
        raise Unsupported("discord.unsupported_action") from None


async def clap_reply(turn: Turn, outcome: o.Outcome) -> InteractionResponse:
    """Someone who already clapped is told privately; otherwise the card is redrawn in place, in the
    language it was posted in (the message is everyone's)."""
    if isinstance(outcome, o.ClapChanged) and outcome.added and not outcome.changed:
        return await private(turn, outcome)
    lang = normalize_locale(turn.request.tail) or turn.context.workspace.default_locale
    return response(render(turn.message(outcome, lang)), wire.UPDATE_MESSAGE)


# ---- /kizuna (admins) ---------------------------------------------------------------------------


def feed_channel_command(request: Request) -> c.Command:
    channel = request.options.get("channel")
    return c.SetFeedChannel(ids.channel_id(channel) if channel else "")


def department_role_command(request: Request) -> c.Command:
    return c.MapRole(ids.role_id(request.options.get("role") or ""), str(request.options.get("department") or ""))


def values_add_command(request: Request) -> c.Command:
    options = request.options
    description = str(options.get("description") or "")
    return c.AddValue(str(options.get("key") or ""), str(options.get("name-en") or ""),
                      str(options.get("name-ja") or ""), str(options.get("emoji") or ""),
                      description_en=description if request.locale == "en" else "",
                      description_ja=description if request.locale == "ja" else "")


def values_archive_command(request: Request) -> c.Command:
    value = str(request.options.get("value") or "")
    return c.RestoreValue(value) if request.options.get("restore") else c.ArchiveValue(value)


def values_rename_command(request: Request) -> c.Command:
    options = request.options
    return c.RenameValue(str(options.get("value") or ""), text(options, "name-en"), text(options, "name-ja"),
                         text(options, "emoji"))


def values_reorder_command(request: Request) -> c.Command:
    return c.ReorderValues(tuple(filter(None, _LIST.split(str(request.options.get("order") or "")))))


def department_set_command(request: Request) -> c.Command:
    return c.SetDepartment(request.person(request.options.get("member")), text(request.options, "department"))


def department_rename_command(request: Request) -> c.Command:
    return c.RenameDepartment(str(request.options.get("department") or ""),
                              str(request.options.get("new-name") or ""))


def department_merge_command(request: Request) -> c.Command:
    return c.MergeDepartments(str(request.options.get("from") or ""), str(request.options.get("into") or ""))


def settings_command(request: Request) -> c.Command:
    setting, new_value = request.options.get("setting"), request.options.get("new-value")
    if setting and new_value is not None:
        return c.ChangeSetting(str(setting), str(new_value))
    if setting or new_value is not None:
        raise InvalidSetting(name=str(setting or "?"), allowed="setting + new-value")
    return c.ShowSettings()


async def settings_reply(turn: Turn, outcome: o.Outcome) -> InteractionResponse:
    """The settings as an embed (a channel shows as a link), with what was just saved on top."""
    shown = cast(o.SettingsShown, outcome)
    locale = turn.locale
    none = translate(locale, "discord.settings.none")
    fields = []
    for name, value in shown.settings.items():
        if name == "feed_channel":
            value_text = f"<#{value}>" if value and str(value).isdigit() else none
        elif isinstance(value, bool):
            value_text = "on" if value else "off"
        else:
            value_text = escape(str(value)) if value not in (None, "") else none
        fields.append({"name": translate(locale, f"discord.setting.{name}"), "value": f"{value_text} (`{name}`)",
                       "inline": True})
    data: dict[str, Any] = {"embeds": [{"title": translate(locale, "discord.settings.title"), "fields": fields}],
                            "flags": wire.EPHEMERAL, "allowed_mentions": allowed_mentions()}
    if shown.changed == "feed_channel":
        saved = "notice.feed_set" if shown.settings.get("feed_channel") else "discord.feed_cleared"
        data["content"] = escape(translate(locale, saved))
    elif shown.changed:
        data["content"] = escape(translate(locale, "notice.settings_saved"))
    return response(data)


KIZUNA_ROUTES: dict[str, Route] = {
    "feed-channel": Route(feed_channel_command, settings_reply),
    "department-role": Route(department_role_command, private),
    "department-set": Route(department_set_command, private),
    "department-rename": Route(department_rename_command, private),
    "department-merge": Route(department_merge_command, private),
    "values-add": Route(values_add_command, private),
    "values-rename": Route(values_rename_command, private),
    "values-reorder": Route(values_reorder_command, private),
    "values-archive": Route(values_archive_command, private),
    "admin-grant": Route(lambda r: c.GrantAdmin(r.person(r.options.get("member"))), private),
    "admin-revoke": Route(lambda r: c.RevokeAdmin(r.person(r.options.get("member"))), private),
    "admins": Route(lambda r: c.ListAdmins(), private),
    "setup": Route(lambda r: c.ShowSetup(), private),
    "settings": Route(settings_command, settings_reply),
    "digest": Route(lambda r: c.SetDigestSchedule(str(r.options.get("schedule") or "")), private),
}


# ---- the handler --------------------------------------------------------------------------------


class InteractionHandler:
    """Answers application commands, autocompletes, button clicks and modal submits, from four tables:
    chat commands by (name, subcommand), user commands by name, buttons by action kind and forms by
    the prefix of their custom id."""

    def __init__(self, *, cache_ttl: float = DEFAULT_CACHE_TTL, rest: RestClient | None = None,
                 public_url: str = "") -> None:
        self.public_url = public_url
        self.meetings = MeetingCommands(rest)
        self.projects = ProjectCommands()
        self.cache = IdentityCache(cache_ttl)
        self.commands: dict[tuple[str, str], Route] = {
            ("thanks", ""): Route(thanks_command, self._thanks_or_form),
            ("leaderboard", ""): Route(leaderboard_command),
            ("values", ""): Route(lambda r: c.ListValues()),
            ("help", ""): Route(lambda r: c.ShowHelp(), private),
            ("recap", ""): Route(lambda r: c.SetRecap(r.options.get("switch") == "on"), private),
            ("dashboard", ""): Route(lambda r: c.OpenDashboard(), private),
            **{("kizuna", sub): route for sub, route in KIZUNA_ROUTES.items()},
            **{("meeting", sub): route for sub, route in self.meetings.routes.items()},
            **{("mixer", sub): route for sub, route in MIXER_ROUTES.items()},
            **{("project", sub): route for sub, route in self.projects.routes.items()},
        }
        self.user_commands: dict[str, Route] = {"Send thanks": Route(lambda r: c.ListValues(), self._thanks_form)}
        self.actions: dict[str, Route] = {"clap": Route(clap_command, clap_reply), **self.meetings.actions,
                                          **self.projects.actions, **MIXER_ACTIONS}
        self.forms: dict[str, Route] = {THANKS_FORM: Route(thanks_form_command),
                                        MEETING_THANKS_FORM: Route(meeting_thanks_command)}

    async def handle(self, interaction: Interaction) -> InteractionResponse:
        """The response to one verified, well-formed interaction; never raises."""
        locale = interaction_locale(interaction)
        kind = interaction.get("type")
        try:
            return await self._dispatch(interaction)
        except GuildOnly:
            return ephemeral_error("discord.guild_only", locale)
        except Unsupported as unsupported:
            return ephemeral_error(unsupported.text_id, locale, **unsupported.params)
        except KizunaError as error:
            if kind == wire.APPLICATION_COMMAND_AUTOCOMPLETE:
                return {"type": wire.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, "data": {"choices": []}}
            return response(render(error_message(error, locale)))
        except Exception as error:
            await outage.report(log, error, "interaction %s (type %s) failed", interaction.get("id"), kind)
            if kind == wire.APPLICATION_COMMAND_AUTOCOMPLETE:
                return {"type": wire.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, "data": {"choices": []}}
            # Overload: say so, rather than that something broke.
            return ephemeral_error("error.busy" if isinstance(error, PoolExhausted) else "error.internal", locale)

    # ---- dispatch -----------------------------------------------------------------------------

    async def _dispatch(self, interaction: Interaction) -> InteractionResponse:
        if interaction["type"] == wire.APPLICATION_COMMAND_AUTOCOMPLETE:
            return await self._autocomplete(interaction)
        if not interaction.get("guild_id") or "member" not in interaction:
            raise GuildOnly()
        route, request = self._route(interaction)
        return await self._run(route, request)

    def _route(self, interaction: Interaction) -> tuple[Route, Request]:
        """The route that answers this interaction, and its request; ``Unsupported`` when none does."""
        kind = interaction["type"]
        data = interaction.get("data", {})
        locale = interaction_locale(interaction)
        resolved: Resolved = data.get("resolved") or {}
        if kind == wire.APPLICATION_COMMAND:
            name = str(data.get("name", ""))
            if data.get("type", wire.CHAT_INPUT) == wire.USER_COMMAND:
                route = self.user_commands.get(name)
                options: dict[str, Any] = {"target": data.get("target_id", "")}
            else:
                given = data.get("options") or []
                sub = given[0] if given and given[0].get("type") == wire.OPT_SUB_COMMAND else None
                sub_name = str(sub.get("name", "")) if sub else ""
                route = self.commands.get((name, sub_name)) if data.get("type", wire.CHAT_INPUT) == wire.CHAT_INPUT \
                    else None
                options = options_of(sub.get("options") if sub else given)
                name = f"{name} {sub_name}".strip()
            if route is None:
                raise Unsupported("error.unknown_command", command=f"/{name[:40]}")
            return route, Request(interaction, options, locale, resolved)
        if kind == wire.MESSAGE_COMPONENT:
            decoded = decode_action(str(data.get("custom_id", "")))
            action = self.actions.get(decoded[0]) if decoded else None
            if decoded is None or action is None:
                raise Unsupported("discord.unsupported_action")
            return action, Request(interaction, decoded[1], locale, resolved, tail=decoded[2])
        if kind == wire.MODAL_SUBMIT:
            custom_id = str(data.get("custom_id", ""))
            prefix = ":".join(custom_id.split(":")[:2]) + ":"
            form = self.forms.get(prefix)
            if form is None:
                raise Unsupported("discord.unsupported_action")
            fields = modal_fields(data.get("components", []))
            return form, Request(interaction, fields, locale, resolved, tail=custom_id[len(prefix):])
        raise Unsupported("error.unknown_command", command=str(kind))

    async def _run(self, route: Route, request: Request) -> InteractionResponse:
        """Build the command, read who asks (fresh if the command checks rights), execute, answer.
        After a command that reads fresh, this process forgets what it cached of the server, so it
        sees its own change (a setting, a right, a department) at once."""
        command = route.build(request)
        fresh = command.reads_fresh()
        interaction = request.interaction
        workspace, member = await self._caller(interaction, fresh=fresh)
        known = {} if fresh else await self._known(workspace, command)
        context = Context(workspace, member, resolve_locale(interaction.get("locale"), workspace.default_locale),
                          PLATFORM, channel=interaction.get("channel_id"), event_key=f"discord:{interaction['id']}",
                          known=known, public_url=self.public_url)
        try:
            outcome = await execute(context, command)
        finally:
            if fresh:
                self.cache.forget(workspace)
        return await route.reply(Turn(request, context), outcome)

    # ---- who is asking ------------------------------------------------------------------------

    async def _workspace(self, interaction: Interaction, *, fresh: bool = False) -> Workspace:
        guild_id = interaction.get("guild_id")
        if not guild_id or "member" not in interaction:
            raise GuildOnly()
        cached = None if fresh else self.cache.workspace(guild_id)
        if cached is not None:
            return cached
        workspace = await ensure_workspace(PLATFORM, guild_id, name=guild_id,
                                           default_locale=normalize_locale(interaction.get("guild_locale")))
        self.cache.keep_workspace(guild_id, workspace)
        return workspace

    async def _members(self, workspace: Workspace, people: list[Person], *, fresh: bool = False) -> list[Member]:
        """``ensure_members``, skipped for whoever looked the same a moment ago (unless ``fresh``)."""
        cached = {p.platform_user_id: m for p in people
                  if not fresh and (m := self.cache.member(workspace.id, p)) is not None}
        todo = [p for p in people if p.platform_user_id not in cached]
        for person, member in zip(todo, await ensure_members(workspace, todo), strict=True):
            self.cache.keep_member(person, member)
            cached[person.platform_user_id] = member
        return [cached[p.platform_user_id] for p in people]

    async def _caller(self, interaction: Interaction, *, fresh: bool) -> tuple[Workspace, Member]:
        """Who is asking. ``fresh`` (anything that checks rights) reads them from the database, so a
        grant or revocation made elsewhere (another process, ``kizuna members import``) counts at once."""
        workspace = await self._workspace(interaction, fresh=fresh)
        guild_member = interaction["member"]
        user = guild_member["user"]
        person = Person(user["id"], display_name(guild_member, user), interaction.get("locale"),
                        bool(user.get("bot")), tuple(guild_member.get("roles", [])))
        (member,) = await self._members(workspace, [person], fresh=fresh)
        try:
            permissions = int(guild_member.get("permissions") or "0")  # a string; absent or null: none
        except ValueError:
            permissions = 0
        await sync_platform_admin(member, bool(permissions & (wire.MANAGE_GUILD | wire.ADMINISTRATOR)))
        return workspace, member

    async def _known(self, workspace: Workspace, command: c.Command) -> dict[str, Member]:
        """The people a thanks names, from the cache or in one trip (so a busy server skips re-reading them)."""
        if not isinstance(command, c.GiveThanks):
            return {}
        people = list({p.platform_user_id: p for p in command.recipients}.values())
        return {m.platform_user_id: m for m in await self._members(workspace, people)}

    async def _thanks_form(self, turn: Turn, outcome: o.Outcome) -> InteractionResponse:
        """The "Send thanks" form, with the user the context menu was opened on already picked. They are
        read (and kept as Discord describes them) now, for the form's title."""
        person = turn.request.person(turn.request.options.get("target"))
        (target,) = await self._members(turn.context.workspace, [person])
        values = value_options(cast(o.ValuesListed, outcome).values, turn.locale)
        return thanks_modal(turn, custom_id=THANKS_FORM, people=(target.platform_user_id,), values=values,
                            projects=await self._projects_for_form(turn),
                            title=translate(turn.locale, "discord.modal.title", name=target.display_name))

    @staticmethod
    async def _projects_for_form(turn: Turn) -> list[dict[str, Any]]:
        """The open projects a thanks form offers (none: no select)."""
        listed_projects = cast(o.ProjectsListed, await turn.run(c.ListProjects()))
        return project_select(listed_projects.views, turn.locale)

    async def _thanks_or_form(self, turn: Turn, outcome: o.Outcome) -> InteractionResponse:
        """A thanks posted for everyone, or (``/thanks`` without people or a message) the form, holding
        what was given."""
        if not isinstance(outcome, o.ValuesListed):
            return await public(turn, outcome)
        options = turn.request.options
        people = tuple(str(options[k]) for k in ("user", "user2", "user3") if options.get(k))
        return thanks_modal(turn, custom_id=THANKS_FORM, people=people, message=str(options.get("message") or ""),
                            values=value_options(outcome.values, turn.locale),
                            chosen=tuple(listed(options.get("value"))),
                            projects=await self._projects_for_form(turn), project=str(options.get("project") or ""),
                            title=translate(turn.locale, "discord.modal.send_title"))

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
        elif option == "project":
            # /project also names closed projects (to show or reopen them); a thanks only open ones.
            for p in await suggest_projects(workspace, typed, include_closed=data.get("name") == "project"):
                choices.append({"name": f"{p.name} +{p.key}", "value": p.key[:limits.CHOICE_VALUE]})
            if data.get("name") == "meeting":  # a meeting can be taken out of its project
                choices.append({"name": translate(locale, "teams.form.no_project"), "value": "none"})
        elif data.get("name") == "meeting":
            sub = (data.get("options") or [{}])[0]
            choices = await self.meetings.autocomplete(workspace, locale, option, typed,
                                                       options_of(sub.get("options")))
        elif option in DEPARTMENT_OPTIONS:
            wanted = fold(typed)
            choices = [{"name": d.name, "value": d.name[:limits.CHOICE_VALUE]}
                       for d in await list_departments(workspace) if wanted in fold(d.name)]
        return {"type": wire.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, "data": {"choices": limits.fit_choices(choices)}}

