"""``execute(context, command)``: the one place that says what a command does and who may do it.

Handlers are found in a table keyed by the command's type (``@handles``), never by name. Rights
are checked here before a handler runs, so a refused command writes nothing (not even the row of a
person it names). Errors are the typed, localised ``KizunaError``s of the services.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from core import outbox
from core.app import commands as c
from core.app import outcomes as o
from core.app.errors import UnknownCommand
from core.meetings import errors as meeting_errors
from core.meetings import service as meetings
from core.meetings.models import ENDED, Meeting
from core.models import Department, Member, Value, Workspace
from core.projects.service import suggest_projects
from core.services import admins, members, stats, thanks, values, workspaces
from core.services.access import require_admin
from core.views import MemberRef, ProjectRef


@dataclass(frozen=True)
class Context:
    """Who asks, where, and in which language; what the surface already knows.

    ``channel`` is the conversation the command came from (reminders and the feed default to it);
    ``event_key`` identifies the platform event, so a redelivered event changes nothing twice;
    ``known`` holds members the adapter has already resolved (by platform user id), so a thanks
    does not look its recipients up twice; ``notify_recipients`` asks for a 1:1 notice per
    recipient (surfaces whose channel post does not reach them).
    """

    workspace: Workspace
    actor: Member
    locale: str
    platform: str
    channel: str | None = None
    event_key: str | None = None
    known: Mapping[str, Member] = field(default_factory=dict)
    notify_recipients: bool = False
    now: datetime | None = None
    # Where people reach Kizuna (``Settings.base_url``): dashboard sign-in links start with it.
    public_url: str = ""


C = TypeVar("C", bound=c.Command)
Handler = Callable[[Context, Any], Awaitable[o.Outcome]]
_HANDLERS: dict[type[c.Command], Handler] = {}
# The outbox kind of a setup checklist sent on its own (``kizuna outbox list`` shows it).
SETUP_KIND = "setup"


def handles(kind: type[C]) -> Callable[[Callable[[Context, C], Awaitable[o.Outcome]]],
                                        Callable[[Context, C], Awaitable[o.Outcome]]]:
    """Register the handler of one command type."""

    def register(handler: Callable[[Context, C], Awaitable[o.Outcome]]) -> Callable[[Context, C], Awaitable[o.Outcome]]:
        if kind in _HANDLERS:
            raise RuntimeError(f"{kind.__name__} already has a handler")
        _HANDLERS[kind] = cast(Handler, handler)
        return handler

    return register


def handled_commands() -> frozenset[type[c.Command]]:
    """Every command type ``execute`` knows."""
    return frozenset(_HANDLERS)


async def execute(context: Context, command: c.Command) -> o.Outcome:
    """Run ``command`` for ``context.actor``; returns its outcome or raises a ``KizunaError``."""
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise UnknownCommand(command=type(command).__name__)
    if command.rights == "admin":
        require_admin(context.actor)
    return await handler(context, command)


# ---- people ------------------------------------------------------------------------------------


async def members_for(context: Context, people: Sequence[members.Person]) -> list[Member]:
    """The members for ``people``: those the surface already resolved, the others in one trip."""
    todo = [p for p in people if p.platform_user_id not in context.known]
    found = {m.platform_user_id: m for m in await members.ensure_members(context.workspace, todo)} if todo else {}
    return [context.known.get(p.platform_user_id) or found[p.platform_user_id] for p in people]


def _ref(member: Member) -> MemberRef:
    return MemberRef(member.id, member.platform_user_id, member.display_name)


# ---- thanks and claps --------------------------------------------------------------------------


@handles(c.GiveThanks)
async def _give_thanks(context: Context, command: c.GiveThanks) -> o.Outcome:
    recipients = await members_for(context, command.recipients)
    result = await thanks.give_thanks(context.workspace, context.actor, recipients, command.message,
                                      list(command.values), idempotency_key=context.event_key,
                                      channel_ref=context.channel, notify_recipients=context.notify_recipients,
                                      now=context.now, project_tags=command.projects)
    return o.ThanksGiven(result.view, result.created)


@handles(c.Clap)
async def _clap(context: Context, command: c.Clap) -> o.Outcome:
    result = await thanks.clap(context.workspace, command.thanks_id, context.actor)
    return o.ClapChanged(result.view, added=True, changed=result.changed)


@handles(c.Unclap)
async def _unclap(context: Context, command: c.Unclap) -> o.Outcome:
    result = await thanks.unclap(context.workspace, command.thanks_id, context.actor)
    return o.ClapChanged(result.view, added=False, changed=result.changed)


@handles(c.ShowThanks)
async def _show_thanks(context: Context, command: c.ShowThanks) -> o.Outcome:
    return o.ThanksShown(await thanks.load_thanks_view(context.workspace, command.thanks_id))


# ---- reading -----------------------------------------------------------------------------------


@handles(c.ShowLeaderboard)
async def _leaderboard(context: Context, command: c.ShowLeaderboard) -> o.Outcome:
    department = await members.get_department(context.workspace, command.department) if command.department else None
    board = await stats.leaderboard(context.workspace, command.period, command.direction, department=department)
    return o.LeaderboardShown(board)


@handles(c.ListValues)
async def _values(context: Context, command: c.ListValues) -> o.Outcome:
    rows = await values.list_values(context.workspace, include_archived=command.include_archived)
    return o.ValuesListed(tuple(values.to_ref(v) for v in rows), command.include_archived)


@handles(c.ShowHelp)
async def _help(context: Context, command: c.ShowHelp) -> o.Outcome:
    return o.HelpShown(command.topic, admin=context.actor.may_administer)


@handles(c.SetNotifications)
async def _notifications(context: Context, command: c.SetNotifications) -> o.Outcome:
    await members.set_notifications(context.actor, command.enabled)
    return o.NotificationsChanged(command.enabled)


@handles(c.ListDepartments)
async def _departments(context: Context, command: c.ListDepartments) -> o.Outcome:
    departments = await members.list_departments(context.workspace)
    counts: dict[int, int] = {}
    for department_id in await Member.filter(workspace_id=context.workspace.id,
                                             department_id__isnull=False).values_list("department_id", flat=True):
        counts[cast(int, department_id)] = counts.get(cast(int, department_id), 0) + 1
    return o.DepartmentsListed(tuple(o.DepartmentLine(d.name, counts.get(d.id, 0), d.platform_role_id)
                                     for d in departments))


# ---- meetings ----------------------------------------------------------------------------------


async def _shown(context: Context, view: meetings.MeetingView, event: o.MeetingEvent, count: int = 3) -> o.Outcome:
    upcoming = await meetings.upcoming_occurrences(context.workspace, view.id, count, now=context.now)
    return o.MeetingShown(view, event, tuple(upcoming))


@handles(c.CreateMeeting)
async def _create_meeting(context: Context, command: c.CreateMeeting) -> o.Outcome:
    given = command.fields.given()
    if not given.get("start"):
        raise meeting_errors.InvalidMeetingCommand(hint="start=YYYY-MM-DD HH:MM")
    channel = str(given.pop("channel", None) or context.channel or "")
    key = f"{context.event_key}:meeting" if context.event_key else None
    view = await meetings.create_meeting(context.workspace, context.actor, channel=channel,
                                         idempotency_key=key, now=context.now,
                                         **{"title": "", **given})  # type: ignore[arg-type]
    return await _shown(context, view, "created")


@handles(c.OpenMeetingForm)
async def _meeting_form(context: Context, command: c.OpenMeetingForm) -> o.Outcome:
    departments = await members.list_departments(context.workspace)
    projects = await suggest_projects(context.workspace, "", limit=100)
    return o.MeetingFormRequested(tuple(d.name for d in departments), context.workspace.timezone,
                                  tuple(ProjectRef(p.key, p.name) for p in projects))


@handles(c.ListMeetings)
async def _list_meetings(context: Context, command: c.ListMeetings) -> o.Outcome:
    views = await meetings.list_meetings(context.workspace, include_ended=command.include_ended, now=context.now)
    return o.MeetingsListed(tuple(views))


@handles(c.ShowMeeting)
async def _show_meeting(context: Context, command: c.ShowMeeting) -> o.Outcome:
    view = await meetings.get_meeting(context.workspace, command.meeting, now=context.now)
    return await _shown(context, view, "details", 5)


@handles(c.EditMeeting)
async def _edit_meeting(context: Context, command: c.EditMeeting) -> o.Outcome:
    given = command.fields.given()
    if not given:
        raise meeting_errors.InvalidMeetingCommand(hint=f"meeting edit {command.meeting} title=… start=…")
    view = await meetings.edit_meeting(context.workspace, context.actor, command.meeting, now=context.now,
                                       **given)  # type: ignore[arg-type]
    return await _shown(context, view, "edited")


async def _occurrence(context: Context, meeting: str, occurrence: str) -> str:
    return await meetings.resolve_occurrence(context.workspace, meeting, occurrence, now=context.now)


@handles(c.SkipOccurrence)
async def _skip(context: Context, command: c.SkipOccurrence) -> o.Outcome:
    # The service reads the occurrence as typed (a key, a date, or a date and time) itself.
    view = await meetings.skip_occurrence(context.workspace, context.actor, command.meeting, command.occurrence,
                                          now=context.now)
    return await _shown(context, view, "skipped")


@handles(c.RestoreOccurrence)
async def _restore(context: Context, command: c.RestoreOccurrence) -> o.Outcome:
    view = await meetings.restore_occurrence(context.workspace, context.actor, command.meeting, command.occurrence,
                                             now=context.now)
    return await _shown(context, view, "restored")


_TIME_ONLY = re.compile(r"\d{1,2}:\d{2}")


@handles(c.MoveOccurrence)
async def _move(context: Context, command: c.MoveOccurrence) -> o.Outcome:
    to = command.to.strip()
    if _TIME_ONLY.fullmatch(to):  # ``HH:MM``: the same day as the occurrence
        key = await _occurrence(context, command.meeting, command.occurrence)
        to = f"{key.split('T')[0]} {to}"
    view = await meetings.move_occurrence(context.workspace, context.actor, command.meeting, command.occurrence, to,
                                          now=context.now)
    return await _shown(context, view, "moved")


@handles(c.PauseMeeting)
async def _pause(context: Context, command: c.PauseMeeting) -> o.Outcome:
    view = await meetings.pause_meeting(context.workspace, context.actor, command.meeting, now=context.now)
    return await _shown(context, view, "paused")


@handles(c.ResumeMeeting)
async def _resume(context: Context, command: c.ResumeMeeting) -> o.Outcome:
    view = await meetings.resume_meeting(context.workspace, context.actor, command.meeting, now=context.now)
    return await _shown(context, view, "resumed")


@handles(c.CancelMeeting)
async def _cancel(context: Context, command: c.CancelMeeting) -> o.Outcome:
    return o.MeetingEnded(await meetings.end_meeting(context.workspace, context.actor, command.meeting,
                                                     now=context.now))


@handles(c.AnswerRsvp)
async def _rsvp(context: Context, command: c.AnswerRsvp) -> o.Outcome:
    key = await _occurrence(context, command.meeting, command.occurrence)
    answer = meetings.parse_rsvp_answer(command.answer)
    summary = await meetings.answer_rsvp(context.workspace, context.actor, command.meeting, key, answer)
    return o.RsvpRecorded(summary, answer)


@handles(c.ShowRsvps)
async def _rsvps(context: Context, command: c.ShowRsvps) -> o.Outcome:
    if command.occurrence:
        key = await _occurrence(context, command.meeting, command.occurrence)
    else:
        view = await meetings.get_meeting(context.workspace, command.meeting, now=context.now)
        if view.next_occurrence is None:
            raise meeting_errors.UnknownOccurrence(occurrence="—")
        key = view.next_occurrence.key
    return o.RsvpsShown(await meetings.rsvp_details(context.workspace, context.actor, command.meeting, key))


@handles(c.ShowReminder)
async def _reminder(context: Context, command: c.ShowReminder) -> o.Outcome:
    return await reminder(context.workspace, command.meeting, command.occurrence, now=context.now)


async def reminder(workspace: Workspace, meeting: int | str, occurrence: str, *, late: bool = False,
                   now: datetime | None = None) -> o.ReminderShown:
    """One date of a meeting with its answers (the reminder the outbox delivers, and its refresh)."""
    view = await meetings.get_meeting(workspace, meeting, now=now)
    occ = await meetings.get_occurrence(workspace, view.id, occurrence)
    summary = await meetings.rsvp_summary(workspace, view.id, occurrence)
    over = meetings.occurrence_over(occ, now or datetime.now(UTC))
    return o.ReminderShown(view, occ, summary, over, late)


@handles(c.ListAttendees)
async def _attendees(context: Context, command: c.ListAttendees) -> o.Outcome:
    people = await meetings.attendees(context.workspace, command.meeting, command.occurrence)
    meeting = await meetings.get_meeting(context.workspace, command.meeting, now=context.now)
    return o.AttendeesListed(meeting.id, command.occurrence, tuple(people))


# ---- setting up --------------------------------------------------------------------------------


async def setup_shown(workspace: Workspace, *, installed: bool = False) -> o.SetupShown:
    """The setup checklist of ``workspace`` as it is now."""
    departments = Department.filter(workspace_id=workspace.id)
    return o.SetupShown(
        workspace.name, bool(workspace.feed_channel),
        await Value.filter(workspace_id=workspace.id, active=True).count(),
        await departments.count(), await departments.filter(platform_role_id__isnull=False).count(),
        await Meeting.filter(workspace_id=workspace.id).exclude(status=ENDED).count(), installed)


@handles(c.ShowSetup)
async def _setup(context: Context, command: c.ShowSetup) -> o.Outcome:
    return await setup_shown(context.workspace)


@handles(c.WelcomeInstaller)
async def _welcome_installer(context: Context, command: c.WelcomeInstaller) -> o.Outcome:
    # The checklist is read when it is delivered, so it shows what is set up by then.
    delivery = await outbox.enqueue(
        context.workspace, context.workspace.platform, f"member:{context.actor.platform_user_id}", SETUP_KIND,
        {"type": "setup", "installed": True}, locale=context.locale,
        dedupe_key=f"setup:{context.event_key}" if context.event_key else None)
    return o.InstallerWelcomed(delivery is not None)


# ---- administration ----------------------------------------------------------------------------


def _settings(workspace: Workspace, changed: str | None = None) -> o.SettingsShown:
    return o.SettingsShown(dict(workspaces.settings_view(workspace)), changed)


@handles(c.ShowSettings)
async def _show_settings(context: Context, command: c.ShowSettings) -> o.Outcome:
    return _settings(context.workspace)


@handles(c.ChangeSetting)
async def _change_setting(context: Context, command: c.ChangeSetting) -> o.Outcome:
    name = workspaces.setting_name(command.name)
    await workspaces.update_settings(context.workspace, context.actor, **{name: command.value})
    return _settings(context.workspace, name)


@handles(c.SetFeedChannel)
async def _feed(context: Context, command: c.SetFeedChannel) -> o.Outcome:
    channel = context.channel or "" if command.channel is None else command.channel
    await workspaces.update_settings(context.workspace, context.actor, feed_channel=channel)
    return _settings(context.workspace, "feed_channel")


@handles(c.AddValue)
async def _add_value(context: Context, command: c.AddValue) -> o.Outcome:
    value = await values.add_value(context.workspace, context.actor, command.key, command.name_en, command.name_ja,
                                   command.emoji, command.description_en, command.description_ja)
    return o.ValueChanged(values.to_ref(value), "added")


@handles(c.RenameValue)
async def _rename_value(context: Context, command: c.RenameValue) -> o.Outcome:
    value = await values.rename_value(context.workspace, context.actor, command.value, name_en=command.name_en,
                                      name_ja=command.name_ja, emoji=command.emoji)
    return o.ValueChanged(values.to_ref(value), "renamed")


@handles(c.ReorderValues)
async def _reorder_values(context: Context, command: c.ReorderValues) -> o.Outcome:
    ordered = await values.reorder_values(context.workspace, context.actor, command.values)
    return o.ValuesReordered(tuple(values.to_ref(v) for v in ordered))


@handles(c.ArchiveValue)
async def _archive_value(context: Context, command: c.ArchiveValue) -> o.Outcome:
    value = await values.set_value_active(context.workspace, context.actor, command.value, False)
    return o.ValueChanged(values.to_ref(value), "archived")


@handles(c.RestoreValue)
async def _restore_value(context: Context, command: c.RestoreValue) -> o.Outcome:
    value = await values.set_value_active(context.workspace, context.actor, command.value, True)
    return o.ValueChanged(values.to_ref(value), "restored")


@handles(c.SetDepartment)
async def _set_department(context: Context, command: c.SetDepartment) -> o.Outcome:
    (target,) = await members_for(context, [command.member])
    await members.set_department(context.workspace, context.actor, target, command.department or None)
    return o.DepartmentChanged("assigned", target.display_name, (command.department or "").strip())


@handles(c.RenameDepartment)
async def _rename_department(context: Context, command: c.RenameDepartment) -> o.Outcome:
    department: Department = await members.rename_department(context.workspace, context.actor, command.department,
                                                             command.new_name)
    return o.DepartmentChanged("renamed", command.department, department.name)


@handles(c.MergeDepartments)
async def _merge_departments(context: Context, command: c.MergeDepartments) -> o.Outcome:
    department: Department = await members.merge_departments(context.workspace, context.actor, command.source,
                                                             command.target)
    return o.DepartmentChanged("merged", command.source, department.name)


@handles(c.MapRole)
async def _map_role(context: Context, command: c.MapRole) -> o.Outcome:
    department = await members.map_role_to_department(context.workspace, context.actor, command.role_id,
                                                      command.department)
    return o.DepartmentChanged("role_mapped", command.role_id, department.name)


@handles(c.GrantAdmin)
async def _grant(context: Context, command: c.GrantAdmin) -> o.Outcome:
    (target,) = await members_for(context, [command.member])
    was = target.is_admin
    target = await admins.grant_admin(context.workspace, context.actor, target)
    return o.AdminChanged(_ref(target), granted=True, changed=not was)


@handles(c.RevokeAdmin)
async def _revoke(context: Context, command: c.RevokeAdmin) -> o.Outcome:
    (target,) = await members_for(context, [command.member])
    was = target.is_admin
    target = await admins.revoke_admin(context.workspace, context.actor, target)
    return o.AdminChanged(_ref(target), granted=False, changed=was)


@handles(c.ListAdmins)
async def _admins(context: Context, command: c.ListAdmins) -> o.Outcome:
    return o.AdminsListed(tuple(_ref(m) for m in await admins.list_admins(context.workspace)))


# The handlers of features in modules of their own register themselves on import (after everything above).
from core.app import dashboard as _dashboard  # noqa: E402,F401
from core.app import digest as _digest  # noqa: E402,F401
from core.app import mixers as _mixers  # noqa: E402,F401
from core.app import projects as _projects  # noqa: E402,F401
