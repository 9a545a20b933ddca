"""Outcomes → neutral messages: one pure function per outcome type, found in a table.

Everything here is synchronous and reads no database: what a message says depends only on the
outcome, the reader's language, the workspace's time zone and the surface (for help).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from cards.build import help_message, leaderboard_message, notice_message, thanks_message, values_message
from cards.meetings import (
    meeting_details_message,
    meeting_list_message,
    reminder_message,
    rsvp_details_message,
    rsvp_recorded_message,
)
from cards.model import Message, NoticeMessage
from core.app import outcomes as o
from core.app.grammar import usage
from core.i18n import normalize_locale, translate


@dataclass(frozen=True)
class Audience:
    """Who reads the message: their language, the workspace's time zone, and the surface; ``public_url`` is
    where people reach Kizuna (``KIZUNA_PUBLIC_URL``), for links to its pages ("" when not known)."""

    locale: str
    timezone: str = "UTC"
    platform: str = "console"
    public_url: str = ""

    @property
    def lang(self) -> str:
        return normalize_locale(self.locale) or "ja"


# Surfaces that speak the text grammar (their hints show its words).
TEXT_SURFACES = frozenset({"teams", "console"})
OutcomeT = TypeVar("OutcomeT", bound=o.Outcome)
_RENDERERS: dict[type[o.Outcome], Callable[[Any, Audience], Message]] = {}


Renderer = Callable[[OutcomeT, Audience], Message]


def renders(kind: type[OutcomeT]) -> Callable[[Renderer[OutcomeT]], Renderer[OutcomeT]]:
    """Register the message of one outcome type."""

    def register(function: Renderer[OutcomeT]) -> Renderer[OutcomeT]:
        _RENDERERS[kind] = function
        return function

    return register


def render_outcome(outcome: o.Outcome, audience: Audience) -> Message:
    """The message that tells ``audience`` what happened."""
    return _RENDERERS[type(outcome)](outcome, audience)


def rendered_outcomes() -> frozenset[type[o.Outcome]]:
    """Every outcome type with a message."""
    return frozenset(_RENDERERS)


@renders(o.ThanksGiven)
def _thanks_given(outcome: o.ThanksGiven, audience: Audience) -> Message:
    return thanks_message(outcome.view, audience.lang, audience.timezone)


@renders(o.ThanksShown)
def _thanks_shown(outcome: o.ThanksShown, audience: Audience) -> Message:
    return thanks_message(outcome.view, audience.lang, audience.timezone)


@renders(o.ClapChanged)
def _clap(outcome: o.ClapChanged, audience: Audience) -> Message:
    if outcome.added and not outcome.changed:
        return notice_message(audience.lang, "notice.already_clapped")
    return thanks_message(outcome.view, audience.lang, audience.timezone)


@renders(o.LeaderboardShown)
def _leaderboard(outcome: o.LeaderboardShown, audience: Audience) -> Message:
    return leaderboard_message(outcome.board, audience.lang)


@renders(o.ValuesListed)
def _values(outcome: o.ValuesListed, audience: Audience) -> Message:
    return values_message(outcome.values, audience.lang)


@renders(o.ValuesReordered)
def _values_reordered(outcome: o.ValuesReordered, audience: Audience) -> Message:
    return values_message(outcome.values, audience.lang)


@renders(o.HelpShown)
def _help(outcome: o.HelpShown, audience: Audience) -> Message:
    return help_message(audience.platform, audience.lang, topic=outcome.topic, admin=outcome.admin)


@renders(o.NotificationsChanged)
def _notifications(outcome: o.NotificationsChanged, audience: Audience) -> Message:
    return notice_message(audience.lang, "notice.notifications_on" if outcome.enabled else "notice.notifications_off")


@renders(o.DepartmentsListed)
def _departments(outcome: o.DepartmentsListed, audience: Audience) -> Message:
    lang = audience.lang
    title = translate(lang, "departments.title")
    if not outcome.departments:
        return NoticeMessage(lang, translate(lang, "departments.empty"), title)
    lines = [translate(lang, "departments.line", name=d.name, count=d.members) for d in outcome.departments]
    return NoticeMessage(lang, "\n".join(lines), title)


_MEETING_TITLES = {"created": "meeting.created", "edited": "meeting.edited", "skipped": "meeting.skipped",
                   "restored": "meeting.restored", "moved": "meeting.moved", "paused": "meeting.paused",
                   "resumed": "meeting.resumed", "details": "meeting.details"}


@renders(o.MeetingShown)
def _meeting(outcome: o.MeetingShown, audience: Audience) -> Message:
    return meeting_details_message(outcome.view, audience.lang, _MEETING_TITLES[outcome.event], outcome.upcoming)


@renders(o.MeetingEnded)
def _meeting_ended(outcome: o.MeetingEnded, audience: Audience) -> Message:
    view = outcome.view
    return NoticeMessage(audience.lang, f"#{view.id} {view.title}",
                         translate(audience.lang, "meeting.ended", title=view.title))


@renders(o.MeetingsListed)
def _meetings(outcome: o.MeetingsListed, audience: Audience) -> Message:
    return meeting_list_message(outcome.views, audience.lang)


@renders(o.MeetingFormRequested)
def _meeting_form(outcome: o.MeetingFormRequested, audience: Audience) -> Message:
    # A surface without dialogs: how to create one in text.
    return help_message(audience.platform, audience.lang, topic="meeting")


@renders(o.RsvpRecorded)
def _rsvp(outcome: o.RsvpRecorded, audience: Audience) -> Message:
    return rsvp_recorded_message(outcome.summary, outcome.answer, audience.lang)


@renders(o.RsvpsShown)
def _rsvps(outcome: o.RsvpsShown, audience: Audience) -> Message:
    return rsvp_details_message(outcome.summary, audience.lang)


@renders(o.ReminderShown)
def _reminder(outcome: o.ReminderShown, audience: Audience) -> Message:
    return reminder_message(outcome, audience.lang)


@renders(o.AttendeesListed)
def _attendees(outcome: o.AttendeesListed, audience: Audience) -> Message:
    lang = audience.lang
    names = ", ".join(p.display_name for p in outcome.people) or translate(lang, "meeting.attendees.none")
    return NoticeMessage(lang, names, translate(lang, "meeting.attendees.title"))


def _setup_hint(step: str, audience: Audience) -> str:
    """Where to do one setup step, in the words of the reader's surface."""
    lang = audience.lang
    if audience.platform == "cli":
        return {"feed": "kizuna settings set feed_channel CHANNEL-ID",
                "values": "kizuna values add KEY NAME-EN NAME-JA",
                "departments": "kizuna departments set --user USER DEPARTMENT",
                "meetings": "kizuna meeting create"}[step]
    if audience.platform in TEXT_SURFACES:
        command = {"feed": "feed", "values": "values.add", "departments": "departments",
                   "meetings": "meeting.create"}[step]
        return usage(command, lang, optional=False)
    kizuna = translate(lang, "discord.cmd.kizuna")
    return {"feed": f"/{kizuna} {translate(lang, 'discord.sub.feed_channel')}",
            "values": f"/{kizuna} {translate(lang, 'discord.sub.values_add')}",
            "departments": f"/{kizuna} {translate(lang, 'discord.sub.department_role')}",
            "meetings": f"/{translate(lang, 'discord.meeting.cmd')} {translate(lang, 'discord.meeting.sub.create')}",
            }[step]


@renders(o.SetupShown)
def _setup(outcome: o.SetupShown, audience: Audience) -> Message:
    lang = audience.lang
    roles = audience.platform == "discord"  # departments come from roles where the platform has them
    steps: tuple[tuple[str, bool | int, dict[str, int]], ...] = (
             ("feed", outcome.feed_channel, {}),
             ("values", outcome.values, {"count": outcome.values}),
             ("departments", outcome.departments,
              {"count": outcome.departments, "roles": outcome.mapped_roles}),
             ("meetings", outcome.meetings, {"count": outcome.meetings}))
    lines = []
    for step, done, params in steps:
        variant = "done" if done else "todo"
        if step == "departments" and roles:
            variant += ".roles"
        line = translate(lang, f"setup.{step}.{variant}", hint=_setup_hint(step, audience), **params)
        lines.append(f"{'✅' if done else '⬜'} {line}")
    left = outcome.steps_left
    lines.append(translate(lang, "setup.ready") if not left else translate(lang, "setup.left", left=left, total=4))
    title = (translate(lang, "setup.installed_title", workspace=outcome.workspace_name) if outcome.installed
             else translate(lang, "setup.title"))
    return NoticeMessage(lang, "\n".join(lines), title)


@renders(o.InstallerWelcomed)
def _installer_welcomed(outcome: o.InstallerWelcomed, audience: Audience) -> Message:
    return notice_message(audience.lang, "setup.sent")


def _shown(lang: str, name: str, value: object) -> str:
    if isinstance(value, bool):
        return translate(lang, "settings.on" if value else "settings.off")
    return str(value) if value not in (None, "") else "—"


@renders(o.SettingsShown)
def _settings(outcome: o.SettingsShown, audience: Audience) -> Message:
    lang = audience.lang
    lines = [f"{translate(lang, f'discord.setting.{name}')} ({name}): {_shown(lang, name, value)}"
             for name, value in outcome.settings.items()]
    if audience.platform in TEXT_SURFACES:
        lines.append(translate(lang, "settings.hint", usage=usage("settings", lang)))
    title = translate(lang, "notice.settings_saved") if outcome.changed else translate(lang, "discord.settings.title")
    return NoticeMessage(lang, "\n".join(lines), title)


_VALUE_NOTICES = {"added": "notice.value_added", "renamed": "notice.value_renamed",
                  "archived": "notice.value_archived", "restored": "notice.value_restored"}


@renders(o.ValueChanged)
def _value_changed(outcome: o.ValueChanged, audience: Audience) -> Message:
    return notice_message(audience.lang, _VALUE_NOTICES[outcome.event], key=outcome.value.key)


@renders(o.DepartmentChanged)
def _department_changed(outcome: o.DepartmentChanged, audience: Audience) -> Message:
    lang = audience.lang
    if outcome.event == "assigned":
        return notice_message(lang, "notice.department_set", name=outcome.subject, department=outcome.department or "—")
    if outcome.event == "role_mapped":
        return notice_message(lang, "notice.department_role_set", department=outcome.department)
    return notice_message(lang, f"notice.department_{outcome.event}", old=outcome.subject, new=outcome.department)


@renders(o.AdminChanged)
def _admin_changed(outcome: o.AdminChanged, audience: Audience) -> Message:
    event = "granted" if outcome.granted else "revoked"
    suffix = "" if outcome.changed else "_already"
    return notice_message(audience.lang, f"notice.admin_{event}{suffix}", name=outcome.member.display_name)


@renders(o.AdminsListed)
def _admins(outcome: o.AdminsListed, audience: Audience) -> Message:
    lang = audience.lang
    names = "\n".join(m.display_name for m in outcome.admins) or translate(lang, "admins.none")
    return NoticeMessage(lang, names, translate(lang, "admins.title"))


# Renderers of features in modules of their own register themselves on import (after everything above).
from cards import dashboard as _dashboard  # noqa: E402,F401
from cards import digest as _digest  # noqa: E402,F401
from cards import mixers as _mixers  # noqa: E402,F401
from cards import projects as _projects  # noqa: E402,F401
