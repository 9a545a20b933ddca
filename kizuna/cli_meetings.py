"""``kizuna reminders run-due``, ``kizuna outbox list|retry`` and ``kizuna meeting …`` (console workspaces)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from adapters.contract import Adapter, AdapterContext
from cards.outcomes import Audience, render_outcome
from cards.text import render_text
from core import outbox
from core.app import commands as c
from core.app.execute import Context, execute
from core.config import ConfigurationError, Settings
from core.errors import KizunaError
from core.i18n import resolve_locale
from core.meetings import prompts, scheduler
from core.meetings.recurrence import format_offset
from core.models import Delivery, Workspace
from core.services.access import SYSTEM_ACTOR
from core.services.workspaces import ensure_workspace
from kizuna.plugins import load_adapter, load_adapters

CONSOLE_CHANNEL = "console"


def _parse_now(text: str | None) -> datetime | None:
    """The ``--now`` of ``run-due``; without a zone it stays naive, to be read in each workspace's zone."""
    from kizuna.cli import CommandError

    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CommandError("cli.now_invalid", value=text) from None


async def _passes(now: datetime | None) -> list[tuple[datetime | None, list[int] | None]]:
    """The moments to run at, with the workspaces each is for (None: all).

    A ``--now`` without a zone is a wall-clock time in the workspace's own time zone (what an admin
    reads off the meeting), so workspaces in different zones get one pass each.
    """
    if now is None or now.tzinfo is not None:
        return [(now, None)]
    zones: dict[str, list[int]] = {}
    for workspace_id, zone in await Workspace.all().order_by("id").values_list("id", "timezone"):
        zones.setdefault(str(zone), []).append(int(workspace_id))
    if not zones:
        return [(now.replace(tzinfo=UTC), None)]
    return [(now.replace(tzinfo=ZoneInfo(zone)), ids) for zone, ids in zones.items()]


def delivery_adapters(settings: Settings, out: TextIO) -> list[Adapter]:
    """The enabled platform adapters, and always the console's, which prints to ``out``."""
    context = AdapterContext(settings=settings, out=out)
    try:
        adapters, _off = load_adapters(context)
    except ConfigurationError as error:
        print(f"kizuna: {error}; only console messages are delivered now, the rest stays in the outbox",
              file=sys.stderr)
        adapters = []
    if not any(a.platform == "console" for a in adapters):
        console = load_adapter("console", context)
        if console is not None:
            adapters.append(console)
    return adapters


async def run_due_and_deliver(settings: Settings, now: datetime | None, out: TextIO,
                              adapters: list[Adapter] | None = None, *,
                              workspace_ids: Collection[int] | None = None) -> scheduler.RunDueResult:
    """One scheduler pass, then deliver what is due through the adapters (the OutboxWorker's drain)."""
    from kizuna.worker import OutboxWorker

    chosen = delivery_adapters(settings, out) if adapters is None else adapters
    worker = OutboxWorker.from_settings(chosen, settings)
    result = await scheduler.run_due(now, workspace_ids=workspace_ids)
    for adapter in chosen:
        await adapter.start()
    try:
        await worker.drain()
    finally:
        for adapter in chosen:
            await adapter.close()
    return result


def cmd_reminders_run_due(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """``kizuna reminders run-due [--now ISO-8601 [--force]]``: a future ``--now`` is a dry run unless forced."""
    from kizuna.cli import run_with_database

    now = _parse_now(args.now)

    async def body() -> int:
        passes = await _passes(now)
        clock = datetime.now(UTC)
        if not args.force and any(moment is not None and moment > clock for moment, _ in passes):
            return await _dry_run(passes, out)
        any_failed = False
        for moment, workspace_ids in passes:
            result = await run_due_and_deliver(settings, moment, out, workspace_ids=workspace_ids)
            delivered, waiting, failed = await _outcomes(result.enqueued)
            any_failed = any_failed or failed > 0
            print(f"reminders at {result.now.isoformat()}: {result.sent} enqueued ({result.late} late), "
                  f"{result.dropped} dropped; delivered {delivered}, will retry {waiting}, failed {failed}",
                  file=out)
            after = result.prompts
            if after.sent or after.dropped:
                delivered, waiting, failed = await _outcomes(after.enqueued)
                any_failed = any_failed or failed > 0
                print(f"after-meeting prompts at {result.now.isoformat()}: {after.sent} enqueued ({after.late} "
                      f"late), {after.dropped} dropped; delivered {delivered}, will retry {waiting}, failed {failed}",
                      file=out)
        return 1 if any_failed else 0

    return run_with_database(settings, body)


async def _outcomes(delivery_ids: list[int]) -> tuple[int, int, int]:
    """How many of these deliveries were delivered, will be retried, and failed."""
    statuses = [d.status for d in await Delivery.filter(id__in=delivery_ids)] if delivery_ids else []
    return (statuses.count(outbox.DELIVERED), statuses.count(outbox.PENDING), statuses.count(outbox.FAILED))


async def _dry_run(passes: list[tuple[datetime | None, list[int] | None]], out: TextIO) -> int:
    """Print what the passes would send and drop; change nothing (a pass in the future would lose reminders)."""
    for moment, workspace_ids in passes:
        assert moment is not None
        planned = await scheduler.preview_due(moment, workspace_ids=workspace_ids)
        print(f"dry run: --now {moment.isoformat()} is in the future, so nothing is sent, dropped or marked done "
              "(add --force to run this pass for real: it sends and drops reminders as if it were that time)",
              file=out)
        for item in planned:
            verb = {"send": "would send", "late": "would send late", "drop": "would drop"}[item.action]
            print(f"{verb}: meeting #{item.meeting_id} “{item.title}” {item.occurrence} "
                  f"({format_offset(item.offset_minutes)} before) to {item.address_key}", file=out)
        for prompt in await prompts.preview_due(moment, workspace_ids=workspace_ids):
            verb = {"send": "would post", "late": "would post late", "drop": "would drop"}[prompt.action]
            print(f"{verb}: the after-meeting prompt of meeting #{prompt.meeting_id} “{prompt.title}” "
                  f"{prompt.occurrence} to {prompt.address_key}", file=out)
        sent = sum(1 for item in planned if item.action != "drop")
        late = sum(1 for item in planned if item.action == "late")
        dropped = sum(1 for item in planned if item.action == "drop")
        print(f"dry run at {moment.isoformat()}: {sent} would be sent ({late} late), {dropped} dropped; "
              "nothing was changed", file=out)
    return 0


def cmd_outbox(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """``kizuna outbox list [--failed|--status S]`` and ``kizuna outbox retry ID``."""
    from kizuna.cli import run_with_database

    async def body() -> int:
        if args.outbox_command == "retry":
            if await outbox.retry(args.id):
                print(f"delivery {args.id} is queued again", file=out)
                return 0
            print(f"kizuna: delivery {args.id} does not exist or has not failed (only failed or dropped "
                  "deliveries can be retried)", file=sys.stderr)
            return 1
        status = outbox.FAILED if args.failed else args.status
        rows = await outbox.list_deliveries(status=status, limit=args.limit)
        if not rows:
            print("the outbox is empty" if status is None else f"no {status} deliveries", file=out)
        for row in rows:
            error = f"\t{row.last_error}" if row.last_error else ""
            print(f"{row.id}\t{row.status}\t{row.platform}\t{row.kind}\t{row.address_key}\t"
                  f"attempts={row.attempts}\t{row.created_at:%Y-%m-%d %H:%M:%S}{error}", file=out)
        return 0

    return run_with_database(settings, body)


def _meeting_fields(args: argparse.Namespace) -> c.MeetingFields:
    """The series options given on the command line, as the meetings service reads them."""
    from kizuna.cli import CommandError

    until = getattr(args, "until", None)
    try:
        last_day = date.fromisoformat(until) if until else None
    except ValueError:
        raise CommandError("cli.until_invalid", value=until) from None
    return c.MeetingFields(**{name: getattr(args, name, None) for name in (
        "title", "start", "timezone", "repeat", "rrule", "duration", "agenda", "place", "departments", "remind",
        "channel", "thanks_prompt", "project")}, until=last_day)


# ``kizuna meeting <subcommand>`` → the command it stands for (``list`` and ``create`` take no id).
_MEETING_COMMANDS: dict[str, Callable[[argparse.Namespace], c.Command]] = {
    "list": lambda a: c.ListMeetings(include_ended=a.all),
    "create": lambda a: c.CreateMeeting(_meeting_fields(a)),
    "show": lambda a: c.ShowMeeting(a.id),
    "edit": lambda a: c.EditMeeting(a.id, _meeting_fields(a)),
    "skip": lambda a: c.SkipOccurrence(a.id, a.occurrence),
    "move": lambda a: c.MoveOccurrence(a.id, a.occurrence, a.to),
    "pause": lambda a: c.PauseMeeting(a.id),
    "resume": lambda a: c.ResumeMeeting(a.id),
    "cancel": lambda a: c.CancelMeeting(a.id),
}


def cmd_meeting(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """``kizuna meeting create|list|show|skip|move|edit|pause|resume|cancel`` for a workspace, run as the
    operator (an admin of every workspace) through the same commands as every chat surface."""
    from kizuna.cli import CommandError, find_workspace, run_with_database

    async def body() -> int:
        workspace: Workspace
        if args.meeting_command == "create" and (args.platform or "console") == "console":
            workspace = await ensure_workspace("console", args.workspace or "demo")
        else:
            workspace = await find_workspace(args.workspace, args.platform)
        locale = resolve_locale(args.locale, workspace.default_locale)
        # Errors in the language of the command's output (its --locale, else the workspace's).
        try:
            command = _MEETING_COMMANDS[args.meeting_command](args)
            # Reminders of a console meeting go to the console; elsewhere, to the channel given.
            channel = CONSOLE_CHANNEL if workspace.platform == "console" else None
            context = Context(workspace, SYSTEM_ACTOR, locale, workspace.platform, channel=channel)
            outcome = await execute(context, command)
        except KizunaError as error:
            print(f"kizuna: {error.localized(locale)}", file=sys.stderr)
            return 1
        except CommandError as error:
            print(f"kizuna: {error.localized(locale)}", file=sys.stderr)
            return 2
        print(render_text(render_outcome(outcome, Audience(locale, workspace.timezone, workspace.platform))),
              file=out)
        return 0

    return run_with_database(settings, body)


def _series_options(parser: argparse.ArgumentParser, *, create: bool) -> None:
    if create:
        parser.add_argument("title", help="the meeting's title")
        parser.add_argument("--start", required=True, help="first occurrence, local time: 'YYYY-MM-DD HH:MM'")
    else:
        parser.add_argument("--title")
        parser.add_argument("--start", help="new first occurrence, local time: 'YYYY-MM-DD HH:MM'")
    parser.add_argument("--repeat", help="none, weekly, biweekly, monthly, monthly-nth-weekday or custom")
    parser.add_argument("--rrule", help="an RFC 5545 rule for --repeat custom, e.g. FREQ=WEEKLY;BYDAY=MO,TH")
    parser.add_argument("--timezone", help="IANA time zone (default: the workspace's)")
    parser.add_argument("--remind", help="reminder offsets, e.g. 1d,15m (default 1d,15m)")
    parser.add_argument("--departments", help="comma-separated department names")
    parser.add_argument("--place", help="room or link")
    parser.add_argument("--duration", help="length: 90 (minutes), 90m, 1h30m, 1.5h or 1時間30分")
    parser.add_argument("--agenda")
    parser.add_argument("--channel", help="channel id to remind (console workspaces: console)")
    parser.add_argument("--until", help="last day of the series, YYYY-MM-DD")
    parser.add_argument("--thanks-prompt", dest="thanks_prompt", choices=["on", "off"],
                        help="after each meeting, post a prompt to thank the people who came (default on)")
    parser.add_argument("--project", help="the project it belongs to (its key or name; none: no project); it invites "
                                          "the project's departments")


def add_cli(subparsers: Any) -> None:
    """Register ``reminders``, ``outbox`` and ``meeting`` on the ``kizuna`` command line."""
    from kizuna.cli import positive_int

    reminders = subparsers.add_parser("reminders", help="meeting reminders")
    reminders_sub = reminders.add_subparsers(dest="reminders_command", required=True)
    run_due = reminders_sub.add_parser("run-due", help="one scheduler pass, deliver what it enqueued, exit")
    run_due.add_argument("--now", help="pretend it is this time (ISO 8601; without a zone, the workspace's "
                         "time zone; default: now). A time in the future is a dry run: it prints what would be sent")
    run_due.add_argument("--force", action="store_true",
                         help="with a future --now, run the pass for real (sends early, drops what is too late)")
    run_due.set_defaults(handler=cmd_reminders_run_due)

    box = subparsers.add_parser("outbox", help="messages Kizuna sends on its own")
    box_sub = box.add_subparsers(dest="outbox_command", required=True)
    listing = box_sub.add_parser("list", help="recent deliveries, newest first")
    listing.add_argument("--failed", action="store_true", help="only deliveries that failed for good")
    listing.add_argument("--status", choices=[outbox.PENDING, outbox.DELIVERED, outbox.FAILED, outbox.DROPPED])
    listing.add_argument("--limit", type=positive_int, default=100, help="at most this many (default 100)")
    retry = box_sub.add_parser("retry", help="queue a failed or dropped delivery again")
    retry.add_argument("id", type=int)
    for parser in (listing, retry):
        parser.set_defaults(handler=cmd_outbox)

    meeting = subparsers.add_parser("meeting", help="schedule and manage meetings of a workspace")
    meeting_sub = meeting.add_subparsers(dest="meeting_command", required=True)
    create = meeting_sub.add_parser("create", help="schedule a meeting series")
    _series_options(create, create=True)
    listed = meeting_sub.add_parser("list", help="the workspace's meetings")
    listed.add_argument("--all", action="store_true", help="ended meetings too")
    show = meeting_sub.add_parser("show", help="one meeting and its next dates")
    show.add_argument("id")
    edit = meeting_sub.add_parser("edit", help="change a series")
    edit.add_argument("id")
    _series_options(edit, create=False)
    skip = meeting_sub.add_parser("skip", help="skip one occurrence")
    skip.add_argument("id")
    skip.add_argument("occurrence", help="its date (YYYY-MM-DD) or key (YYYY-MM-DDTHH:MM)")
    move = meeting_sub.add_parser("move", help="move one occurrence")
    move.add_argument("id")
    move.add_argument("occurrence", help="its date (YYYY-MM-DD) or key (YYYY-MM-DDTHH:MM)")
    move.add_argument("to", help="new local start, 'YYYY-MM-DD HH:MM'")
    changes = [meeting_sub.add_parser(name, help=text) for name, text in (
        ("pause", "pause reminders"), ("resume", "resume reminders"), ("cancel", "end the series"))]
    for parser in changes:
        parser.add_argument("id")
    for parser in (create, listed, show, edit, skip, move, *changes):
        parser.add_argument("--workspace", help="workspace id (default: the only one; create: console 'demo')")
        parser.add_argument("--platform", choices=["console", "teams", "discord"])
        parser.add_argument("--locale", choices=["ja", "en"])
        parser.set_defaults(handler=cmd_meeting)
