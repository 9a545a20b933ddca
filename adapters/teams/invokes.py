"""Invokes (card buttons, dialogs) → commands → answers, found in a table keyed by (invoke, verb or marker).

Each entry reads its payload (untrusted), builds a command, runs it through ``core.app.execute``
and answers in the invoke's own shape: a card or a short message for ``adaptiveCard/action``, a
dialog (or a message in it) for ``task/*`` and ``composeExtension/*``. ``answer`` never raises: a
broken rule is answered in the user's language, anything unexpected is logged and apologised for.
What the table needs of the transport (post a card, update the shared card, ask Teams who someone
is) comes in ``InvokeTurn`` as plain callables; nothing here touches the SDK.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from adapters.teams.dialog import (
    COMMAND_ID,
    SUBMIT_MARKER,
    ThanksSubmission,
    message_text,
    parse_submission,
    task_continue,
    thanks_form,
)
from adapters.teams.incoming import PLATFORM, Incoming
from adapters.teams.meetings import COMMAND_ID as MEETING_COMMAND_ID
from adapters.teams.meetings import (
    MeetingSubmission,
    edit_changes,
    meeting_form,
    meeting_task,
    parse_meeting_submission,
    submission_from_view,
)
from adapters.teams.outcomes import outcome_card
from adapters.teams.people import Caller, Lookup, People, picker_choices
from adapters.teams.render import (
    OPEN_MEETING_EDIT,
    OPEN_MEETING_FORM,
    REMINDER_REFRESH_VERB,
    RSVP_DETAILS,
    RSVP_VERB,
    SUBMIT_MEETING_EDIT,
    SUBMIT_MEETING_FORM,
    THANK_ATTENDEES,
    THANK_GROUP,
    THANK_PROJECT,
    attachment,
    check_size,
    reminder_card,
    render_card,
)
from cards.build import thanks_message
from cards.meetings import reminder_message, rsvp_details_message
from cards.outcomes import Audience
from core import outage
from core.app import commands as c
from core.app import mixer_commands as mc
from core.app import outcomes as o
from core.app.execute import Context, execute
from core.errors import KizunaError
from core.i18n import normalize_locale, resolve_locale, translate
from core.services.members import Person

log = logging.getLogger("kizuna.teams")

CARD_RESPONSE = "application/vnd.microsoft.card.adaptive"
MESSAGE_RESPONSE = "application/vnd.microsoft.activity.message"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
Card = dict[str, Any]
OutcomeT = TypeVar("OutcomeT", bound=o.Outcome)


@dataclass(frozen=True)
class Reply:
    """An invoke's answer: HTTP status and JSON body."""

    body: Any
    status: int = 200


def card_reply(card: Card) -> Reply:
    """``adaptiveCard/action`` answer that replaces the card for the user who pressed the button."""
    return Reply({"statusCode": 200, "type": CARD_RESPONSE, "value": card})


def text_reply(text: str) -> Reply:
    """``adaptiveCard/action`` answer that shows a short message and leaves the card as it is."""
    return Reply({"statusCode": 200, "type": MESSAGE_RESPONSE, "value": text})


def task_reply(text: str) -> Reply:
    """``task/*`` / ``composeExtension/*`` answer that shows (or closes the dialog with) a short message."""
    return Reply({"task": {"type": "message", "value": text}})


CLOSE = Reply({})


def _dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (invoke payloads are untrusted)."""
    return value if isinstance(value, dict) else {}


@dataclass
class InvokeTurn:
    """One invoke as the table sees it: who and where, its payload, and what it may ask of the transport.

    ``post`` posts a card into the conversation within the invoke's budget (the HTTP status of a
    failure that happened in time, else None); ``update_shared`` replaces the card a button was
    pressed on, for everyone; ``lookup`` asks Teams who an Entra object id is.
    """

    incoming: Incoming
    name: str
    value: dict[str, Any]
    people: People
    deadline: float
    post: Callable[[Card, str], Awaitable[int | None]]
    update_shared: Callable[[Card], Awaitable[None]]
    lookup: Lookup
    locale: str = ""
    _forget: list[Caller] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.locale = self.locale or resolve_locale(self.incoming.locale)

    async def caller(self, command: type[c.Command]) -> Caller:
        """Who acts, read as ``command`` requires (fresh when it checks rights)."""
        fresh = command.reads_fresh()
        caller = await self.people.caller(self.incoming, fresh=fresh)
        self.locale = caller.locale
        if fresh:
            self._forget.append(caller)
        return caller

    def context(self, caller: Caller, prefix: str, known: Mapping[str, Any] | None = None) -> Context:
        return Context(caller.workspace, caller.member, caller.locale, PLATFORM, channel=self.incoming.channel,
                       event_key=self.incoming.key(prefix), known=known or {}, notify_recipients=True)

    async def run(self, caller: Caller, command: c.Command, kind: type[OutcomeT], *,
                  prefix: str = "dialog") -> OutcomeT:
        """Execute ``command`` for ``caller``; its outcome, which is of type ``kind``."""
        outcome = await execute(self.context(caller, prefix), command)
        if not isinstance(outcome, kind):  # pragma: no cover - each command has one outcome type
            raise TypeError(f"{type(command).__name__} gave {type(outcome).__name__}")
        return outcome

    def audience(self, caller: Caller) -> Audience:
        return Audience(caller.locale, caller.workspace.timezone, PLATFORM)


def _card_locale(data: Mapping[str, Any], caller: Caller) -> str:
    """The language a card was rendered in (its buttons say), else the caller's."""
    return normalize_locale(str(data.get("locale") or "")) or caller.locale


Route = Callable[[InvokeTurn, dict[str, Any]], Awaitable[Reply]]


# ---- 👏 and the thanks card's refresh ----------------------------------------------------------


def _thanks_id(data: Mapping[str, Any]) -> int | None:
    try:
        return int(str(data.get("thanks_id")))
    except ValueError:
        return None


async def _clap(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    caller = await turn.caller(c.Clap)
    thanks_id = _thanks_id(data)
    if thanks_id is None:
        return text_reply(translate(caller.locale, "error.thanks_not_found"))
    clapped = await turn.run(caller, c.Clap(thanks_id), o.ClapChanged)
    if not clapped.changed:
        return text_reply(translate(caller.locale, "notice.already_clapped"))
    card = render_card(thanks_message(clapped.view, _card_locale(data, caller), caller.workspace.timezone))
    await turn.update_shared(card)
    return card_reply(card)


async def _refresh_thanks(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    caller = await turn.caller(c.ShowThanks)
    thanks_id = _thanks_id(data)
    if thanks_id is None:
        return text_reply(translate(caller.locale, "error.thanks_not_found"))
    shown = await turn.run(caller, c.ShowThanks(thanks_id), o.ThanksShown)
    return card_reply(render_card(thanks_message(shown.view, _card_locale(data, caller), caller.workspace.timezone)))


# ---- the reminder card: RSVP buttons and its refresh ---------------------------------------------


def _occurrence_of(data: Mapping[str, Any]) -> tuple[str, str]:
    return str(data.get("meeting_id") or ""), str(data.get("occurrence") or "")


async def _rsvp(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    """Record the answer, refresh everyone's counts, show the presser their own answer."""
    caller = await turn.caller(c.AnswerRsvp)
    meeting, occurrence = _occurrence_of(data)
    recorded = await turn.run(caller, c.AnswerRsvp(meeting, occurrence, str(data.get("answer") or "")),
                              o.RsvpRecorded)
    summary = recorded.summary
    reminder = await turn.run(caller, c.ShowReminder(str(summary.meeting_id), summary.occurrence), o.ReminderShown)
    message = reminder_message(reminder, _card_locale(data, caller))
    await turn.update_shared(render_card(message))
    card = reminder_card(message, your_answer=summary.answer_of(caller.member.id))
    check_size(card)
    return card_reply(card)


async def _refresh_reminder(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    caller = await turn.caller(c.ShowReminder)
    meeting, occurrence = _occurrence_of(data)
    reminder = await turn.run(caller, c.ShowReminder(meeting, occurrence), o.ReminderShown)
    card = reminder_card(reminder_message(reminder, _card_locale(data, caller)),
                         your_answer=reminder.summary.answer_of(caller.member.id))
    check_size(card)
    return card_reply(card)


async def _mixer_met(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    """"We met" / "We couldn't" on a mixer's day card: recorded; the presser sees the answer (and, after
    "We met", the nudge to thank the group)."""
    caller = await turn.caller(mc.AnswerMixerRound)
    answered = await turn.run(caller, mc.AnswerMixerRound(str(data.get("round_id") or ""),
                                                          str(data.get("answer") or "")), mc.MixerAnswered)
    return card_reply(outcome_card(answered, turn.audience(caller)))


async def _thank_group(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    """The thanks dialog with the rest of one's mixer group already picked."""
    caller = await turn.caller(c.GiveThanks)
    listed = await turn.run(caller, mc.ListMixerGroup(str(data.get("round_id") or "")), mc.MixerGroupListed)
    others = [p for p in listed.people if p.platform_user_id != caller.member.platform_user_id]
    people = await picker_choices(caller.workspace, others)
    form = await _thanks_form(turn, caller, people=people,
                              submission=ThanksSubmission(tuple(p for p, _ in people), (), ""))
    return Reply(task_continue(caller.locale, form))


# ---- dialogs opened from a card ------------------------------------------------------------------


async def _meeting_form(turn: InvokeTurn, caller: Caller, submission: MeetingSubmission | None = None,
                        error: str | None = None, *, meeting_id: int | None = None) -> Card:
    offered = await turn.run(caller, c.OpenMeetingForm(), o.MeetingFormRequested)
    return meeting_form(caller.locale, offered.departments, offered.timezone, submission=submission, error=error,
                        meeting_id=meeting_id, projects=[(p.key, p.name) for p in offered.projects])


async def _open_meeting_form(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    caller = await turn.caller(c.OpenMeetingForm)
    return Reply(meeting_task(caller.locale, await _meeting_form(turn, caller)))


async def _open_meeting_edit(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    caller = await turn.caller(c.EditMeeting)
    shown = await turn.run(caller, c.ShowMeeting(str(data.get("meeting_id") or "")), o.MeetingShown)
    form = await _meeting_form(turn, caller, submission_from_view(shown.view), meeting_id=shown.view.id)
    return Reply(meeting_task(caller.locale, form, editing=True))


async def _rsvp_details(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    """"Who's coming": the answers by name, for the organiser (or an admin), in a dialog."""
    caller = await turn.caller(c.ShowRsvps)
    meeting, occurrence = _occurrence_of(data)
    shown = await turn.run(caller, c.ShowRsvps(meeting, occurrence or None), o.RsvpsShown)
    lang = _card_locale(data, caller)
    card = render_card(rsvp_details_message(shown.summary, lang))
    return Reply({"task": {"type": "continue", "value": {
        "title": translate(lang, "teams.meeting.who"), "height": "medium", "width": "medium",
        "card": attachment(card)}}})


async def _thanks_form(turn: InvokeTurn, caller: Caller, *, message: str = "",
                       submission: ThanksSubmission | None = None, error: str | None = None,
                       people: list[tuple[str, str]] | None = None,
                       submit_data: Mapping[str, str] | None = None) -> Card:
    listed = await turn.run(caller, c.ListValues(), o.ValuesListed)
    projects = await turn.run(caller, c.ListProjects(), o.ProjectsListed)
    return thanks_form(caller.locale, listed.values, max_length=caller.workspace.max_message_length,
                       message=message, submission=submission, error=error, people=people or (),
                       submit_data=submit_data, projects=[(p.key, p.name) for p in projects.views])


async def _attendees(turn: InvokeTurn, caller: Caller, meeting: str, occurrence: str) -> list[tuple[str, str]]:
    """The people who said "going" (the person thanking left out), as people-picker choices."""
    listed = await turn.run(caller, c.ListAttendees(meeting, occurrence), o.AttendeesListed)
    others = [p for p in listed.people if p.platform_user_id != caller.member.platform_user_id]
    return await picker_choices(caller.workspace, others)


async def _thank_attendees(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    """The thanks dialog with the meeting's attendees (those who said "going") already picked."""
    caller = await turn.caller(c.GiveThanks)
    meeting, occurrence = _occurrence_of(data)
    people = await _attendees(turn, caller, meeting, occurrence)
    form = await _thanks_form(turn, caller, people=people,
                              submission=ThanksSubmission(tuple(p for p, _ in people), (), ""),
                              submit_data={"meeting_id": meeting, "occurrence": occurrence})
    return Reply(task_continue(caller.locale, form))


async def _project_members(turn: InvokeTurn, caller: Caller, project: str) -> list[tuple[str, str]]:
    """The members of a project (the person thanking left out), as people-picker choices."""
    shown = await turn.run(caller, c.ShowProject(project), o.ProjectShown)
    others = [p for p in shown.view.members if p.platform_user_id != caller.member.platform_user_id]
    return await picker_choices(caller.workspace, others)


async def _thank_project(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    """The thanks dialog with a project's other members already picked (the closing card's round of thanks)."""
    caller = await turn.caller(c.GiveThanks)
    project = str(data.get("project") or "")[:100]
    people = await _project_members(turn, caller, project)
    form = await _thanks_form(turn, caller, people=people,
                              submission=ThanksSubmission(tuple(p for p, _ in people), (), ""))
    return Reply(task_continue(caller.locale, form))


# ---- the message extension's dialogs ---------------------------------------------------------------


async def _fetch_thanks_form(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    caller = await turn.caller(c.ListValues)
    prefill = message_text(turn.value.get("messagePayload")) if turn.value.get("commandContext") == "message" else ""
    return Reply(task_continue(caller.locale, await _thanks_form(turn, caller, message=prefill)))


# ---- dialog submits --------------------------------------------------------------------------------


async def _send_thanks(turn: InvokeTurn, data: dict[str, Any], *, compose: bool) -> Reply:
    """Send thanks from the dialog within Teams' 5 seconds: store, post the card, close the dialog."""
    caller = await turn.caller(c.GiveThanks)
    submission = parse_submission(data)
    try:
        recipients = await turn.people.picked(caller.workspace, turn.incoming, submission.recipient_ids,
                                              turn.lookup, turn.deadline)
        command = c.GiveThanks(tuple(Person(m.platform_user_id) for m in recipients), submission.message,
                               submission.value_keys, (submission.project,) if submission.project else ())
        known = {m.platform_user_id: m for m in recipients}
        given = await execute(turn.context(caller, "ext", known), command)
    except KizunaError as error:
        people: list[tuple[str, str]] = []
        submit_data: dict[str, str] = {}
        if data.get("meeting_id") and data.get("occurrence"):
            # Came from "Thank someone from this meeting": keep the attendees on offer.
            submit_data = {"meeting_id": str(data["meeting_id"]), "occurrence": str(data["occurrence"])}
            try:
                people = await _attendees(turn, caller, submit_data["meeting_id"], submit_data["occurrence"])
            except KizunaError:
                submit_data = {}
        form = await _thanks_form(turn, caller, submission=submission, error=error.localized(caller.locale),
                                  people=people, submit_data=submit_data)
        return Reply(task_continue(caller.locale, form))
    if not isinstance(given, o.ThanksGiven) or not given.created:
        return CLOSE
    card = outcome_card(given, turn.audience(caller))
    status = await turn.post(card, f"thanks {given.view.id}")
    if status in (403, 404) and compose:
        # The bot is not in this conversation (e.g. a chat between two people): hand the card
        # to the compose box instead, so the sender posts it.
        return Reply({"composeExtension": {"type": "result", "attachmentLayout": "list",
                                           "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}]}})
    return CLOSE


async def _submit_thanks_compose(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    return await _send_thanks(turn, data, compose=True)


async def _submit_thanks_dialog(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    return await _send_thanks(turn, data, compose=False)


async def _create_meeting(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    """Schedule the meeting of a submitted dialog; reminders go to the conversation it came from."""
    caller = await turn.caller(c.CreateMeeting)
    submission = parse_meeting_submission(data)
    try:
        created = await turn.run(caller, c.CreateMeeting(submission.fields()), o.MeetingShown)
    except KizunaError as error:
        form = await _meeting_form(turn, caller, submission, error.localized(caller.locale))
        return Reply(meeting_task(caller.locale, form))
    # The scheduler posts to ``channel:<conversation id>``: make sure that address exists (a 1:1
    # chat only stores a member address otherwise).
    await turn.people.store_addresses(caller.workspace, [turn.incoming.channel_address])
    view = created.view
    status = await turn.post(outcome_card(created, turn.audience(caller)), f"meeting {view.id}")
    if status in (403, 404):
        # Kizuna is not in this chat, so it could never post the reminders here.
        await turn.run(caller, c.CancelMeeting(str(view.id)), o.MeetingEnded)
        form = await _meeting_form(turn, caller, submission, translate(caller.locale, "teams.meeting.bot_not_here"))
        return Reply(meeting_task(caller.locale, form))
    return CLOSE


async def _edit_meeting(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    """Save a submitted "Edit meeting" dialog; whether this person may is the core's to say."""
    caller = await turn.caller(c.EditMeeting)
    submission = parse_meeting_submission(data)
    raw_id = str(data.get("meeting_id") or "")
    try:
        before = await turn.run(caller, c.ShowMeeting(raw_id), o.MeetingShown)
        changes = edit_changes(before.view, submission)
        if not changes.given():
            return CLOSE  # saved as it was: nothing to change or to say
        edited = await turn.run(caller, c.EditMeeting(str(before.view.id), changes), o.MeetingShown)
    except KizunaError as error:
        meeting_id = int(raw_id) if raw_id.isdigit() else None
        form = await _meeting_form(turn, caller, submission, error.localized(caller.locale), meeting_id=meeting_id)
        return Reply(meeting_task(caller.locale, form, editing=True))
    await turn.post(outcome_card(edited, turn.audience(caller)), f"meeting {edited.view.id} (edited)")
    return CLOSE


# ---- the table -------------------------------------------------------------------------------------


def _action(value: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    action = _dict(value.get("action"))
    return str(action.get("verb") or ""), _dict(action.get("data"))


def _command_id(value: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    command_id = value.get("commandId")
    return (COMMAND_ID if command_id is None else str(command_id)), _dict(value.get("data"))


def _marker(value: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    data = _dict(value.get("data"))
    return str(data.get("kizuna") or ""), data


async def _nothing(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    return CLOSE


async def _generic_card(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    return text_reply(translate(turn.locale, "error.generic"))


async def _generic_task(turn: InvokeTurn, data: dict[str, Any]) -> Reply:
    return task_reply(translate(turn.locale, "error.generic"))


@dataclass(frozen=True)
class Invoke:
    """How one invoke name is read: which part names the route, the route for anything else, and
    the shape of a failure (a message next to the card, or in the dialog)."""

    key: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]
    otherwise: Route
    failure: Callable[[str], Reply]


INVOKES: dict[str, Invoke] = {
    "adaptiveCard/action": Invoke(_action, _generic_card, text_reply),
    "composeExtension/fetchTask": Invoke(_command_id, _fetch_thanks_form, task_reply),
    "composeExtension/submitAction": Invoke(_command_id, _nothing, task_reply),
    "task/fetch": Invoke(_marker, _generic_task, task_reply),
    "task/submit": Invoke(_marker, _nothing, task_reply),
}

ROUTES: dict[tuple[str, str], Route] = {
    ("adaptiveCard/action", "clap"): _clap,
    ("adaptiveCard/action", "refresh"): _refresh_thanks,
    ("adaptiveCard/action", RSVP_VERB): _rsvp,
    ("adaptiveCard/action", REMINDER_REFRESH_VERB): _refresh_reminder,
    ("adaptiveCard/action", "mixer_met"): _mixer_met,
    ("composeExtension/fetchTask", COMMAND_ID): _fetch_thanks_form,
    ("composeExtension/fetchTask", MEETING_COMMAND_ID): _open_meeting_form,
    ("composeExtension/submitAction", COMMAND_ID): _submit_thanks_compose,
    ("composeExtension/submitAction", MEETING_COMMAND_ID): _create_meeting,
    ("task/fetch", OPEN_MEETING_FORM): _open_meeting_form,
    ("task/fetch", OPEN_MEETING_EDIT): _open_meeting_edit,
    ("task/fetch", RSVP_DETAILS): _rsvp_details,
    ("task/fetch", THANK_ATTENDEES): _thank_attendees,
    ("task/fetch", THANK_PROJECT): _thank_project,
    ("task/fetch", THANK_GROUP): _thank_group,
    ("task/submit", SUBMIT_MEETING_FORM): _create_meeting,
    ("task/submit", SUBMIT_MEETING_EDIT): _edit_meeting,
    ("task/submit", SUBMIT_MARKER): _submit_thanks_dialog,
}


def known(name: str) -> bool:
    """Whether Kizuna answers invokes of this name (anything else — search, sign-in… — is not a feature)."""
    return name in INVOKES


def no_sender(name: str, locale: str | None) -> Reply:
    """The answer to an invoke that names nobody: every Kizuna invoke acts for someone."""
    return INVOKES[name].failure(translate(resolve_locale(locale), "teams.error.no_sender"))


async def answer(turn: InvokeTurn) -> Reply:
    """The answer to one invoke of a known name; never raises."""
    invoke = INVOKES[turn.name]
    try:
        if turn.name == "adaptiveCard/action" and _dict(turn.value.get("action")).get("type") != "Action.Execute":
            return Reply({"statusCode": 400, "type": "application/vnd.microsoft.error",
                          "value": {"code": "BadRequest", "message": "expected Action.Execute"}})
        key, data = invoke.key(turn.value)
        return await ROUTES.get((turn.name, key), invoke.otherwise)(turn, data)
    except KizunaError as error:
        # Answered in the user's language, in the invoke's own shape, never as an HTTP error Teams
        # shows as "Something went wrong".
        return invoke.failure(error.localized(turn.locale))
    except Exception as error:
        await outage.report(log, error, "invoke %s (%s) failed", turn.name, turn.incoming.activity_id)
        return invoke.failure(translate(turn.locale, "error.internal"))
    finally:
        for caller in turn._forget:
            turn.people.forget(caller.workspace)
