"""``meeting …`` lines in the console: the same meeting commands as Teams and Discord, in a terminal.

    meeting create "Sales x Eng sync" start=2026-12-07 10:00 repeat=monthly-nth-weekday remind=1d,15m
            departments=Sales,Engineering place="Room 3" tz=Asia/Tokyo duration=45m agenda="…"
    meeting list | show ID | skip ID DATE | move ID DATE to=NEW | restore ID DATE
    meeting edit ID key=value … | pause ID | resume ID | cancel ID
    meeting rsvp ID DATE yes|maybe|no | who ID DATE

Japanese works too: ``ミーティング 作成 「営業×開発 定例」 開始=2026-12-07 10:00 繰り返し=毎月第n曜日 通知=1日,15分``.
A value may contain spaces (``start=2026-12-07 10:00``): it runs until the next ``key=``.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from datetime import date
from typing import Any

from cards.build import error_message
from cards.meetings import (
    meeting_details_message,
    meeting_list_message,
    rsvp_details_message,
    rsvp_recorded_message,
)
from cards.model import Message, NoticeMessage
from core.errors import KizunaError
from core.i18n import fold, translate
from core.meetings import errors, service
from core.models import Member, Workspace

CONSOLE_CHANNEL = "console"

_ACTIONS = {
    "create": "create", "add": "create", "new": "create", "作成": "create", "作る": "create", "登録": "create",
    "list": "list", "ls": "list", "一覧": "list", "リスト": "list",
    "show": "show", "info": "show", "詳細": "show", "表示": "show",
    "skip": "skip", "休み": "skip", "スキップ": "skip",
    "move": "move", "移動": "move",
    "restore": "restore", "unskip": "restore", "戻す": "restore",
    "edit": "edit", "change": "edit", "変更": "edit", "編集": "edit",
    "pause": "pause", "一時停止": "pause", "停止": "pause",
    "resume": "resume", "再開": "resume",
    "cancel": "cancel", "end": "cancel", "中止": "cancel", "終了": "cancel", "キャンセル": "cancel",
    "rsvp": "rsvp", "出欠": "rsvp", "返事": "rsvp",
    "who": "who", "answers": "who", "回答": "who", "出欠確認": "who",
    "help": "help", "ヘルプ": "help", "?": "help",
}
_KEYS = {
    "title": "title", "name": "title", "タイトル": "title", "件名": "title",
    "start": "start", "at": "start", "開始": "start", "日時": "start",
    "repeat": "repeat", "recurrence": "repeat", "繰り返し": "repeat", "くりかえし": "repeat",
    "rrule": "rrule",
    "tz": "timezone", "timezone": "timezone", "タイムゾーン": "timezone",
    "remind": "remind", "reminders": "remind", "reminder": "remind", "通知": "remind", "リマインド": "remind",
    "departments": "departments", "department": "departments", "dept": "departments", "部署": "departments",
    "place": "place", "link": "place", "where": "place", "場所": "place", "リンク": "place",
    "duration": "duration", "length": "duration", "時間": "duration", "長さ": "duration",
    "agenda": "agenda", "議題": "agenda", "アジェンダ": "agenda",
    "channel": "channel", "チャンネル": "channel",
    "to": "to", "先": "to", "変更先": "to",
    "until": "until", "まで": "until", "終了日": "until",
}
_QUOTES = str.maketrans({"「": '"', "」": '"', "“": '"', "”": '"', "『": '"', "』": '"'})
_KEY_RE = re.compile(r"^([^=＝\s]+)[=＝](.*)$", re.S)


def parse_line(rest: str) -> tuple[list[str], dict[str, str]]:
    """``create "A B" start=2026-12-07 10:00 remind=1d`` → (["create", "A B"], {"start": "2026-12-07 10:00", …})."""
    try:
        tokens = shlex.split(rest.translate(_QUOTES).replace("　", " "))
    except ValueError as error:
        raise errors.InvalidMeetingCommand(hint=str(error)) from None
    positional: list[str] = []
    options: dict[str, str] = {}
    current: str | None = None
    for token in tokens:
        match = _KEY_RE.match(token)
        key = _KEYS.get(fold(match.group(1))) if match else None
        if match and key:
            current = key
            options[key] = match.group(2)
        elif match:
            raise errors.InvalidMeetingCommand(hint=f"{match.group(1)}=")
        elif current is not None:
            options[current] = f"{options[current]} {token}".strip()
        else:
            positional.append(token)
    return positional, options


def _until(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(unicodedata.normalize("NFKC", text).strip().replace("/", "-"))
    except ValueError:
        raise errors.InvalidMeetingStart(start=text[:40]) from None


def _fields(options: dict[str, str]) -> dict[str, Any]:
    names = {"title": "title", "start": "start", "repeat": "repeat", "rrule": "rrule", "timezone": "timezone",
             "remind": "remind", "departments": "departments", "place": "place", "duration": "duration_minutes",
             "agenda": "agenda", "channel": "channel"}
    fields: dict[str, Any] = {names[k]: v for k, v in options.items() if k in names}
    if "until" in options:
        fields["until"] = _until(options["until"])
    return fields


def _need(positional: list[str], count: int, hint: str) -> list[str]:
    if len(positional) < count:
        raise errors.InvalidMeetingCommand(hint=hint)
    return positional[:count]


async def handle_meeting_command(workspace: Workspace, member: Member, rest: str, locale: str) -> Message:
    """The reply to ``meeting <rest>`` typed by ``member``; errors come back as polite messages."""
    try:
        return await _handle(workspace, member, rest, locale)
    except KizunaError as error:
        return error_message(error, locale)


async def _handle(workspace: Workspace, member: Member, rest: str, locale: str) -> Message:
    positional, options = parse_line(rest)
    if not positional:
        views = await service.list_meetings(workspace)
        return meeting_list_message(views, locale)
    action = _ACTIONS.get(fold(positional[0]))
    args = positional[1:]
    if action is None:
        raise errors.InvalidMeetingCommand(hint=positional[0][:30])
    if action == "help":
        return NoticeMessage(locale, translate(locale, "meeting.help"), translate(locale, "meeting.help.title"))
    if action == "list":
        return meeting_list_message(await service.list_meetings(workspace, include_ended="all" in args), locale)
    if action == "create":
        fields = _fields(options)
        if args and "title" not in fields:
            fields["title"] = " ".join(args)
        if "start" not in fields:
            raise errors.InvalidMeetingCommand(hint="start=YYYY-MM-DD HH:MM")
        fields.setdefault("title", "")
        fields.setdefault("channel", CONSOLE_CHANNEL)
        view = await service.create_meeting(workspace, member, **fields)
        upcoming = await service.upcoming_occurrences(workspace, view.id, 3)
        return meeting_details_message(view, locale, "meeting.created", upcoming)
    (meeting_id,) = _need(args, 1, "meeting " + positional[0] + " ID")
    if action == "show":
        view = await service.get_meeting(workspace, meeting_id)
        upcoming = await service.upcoming_occurrences(workspace, meeting_id, 5)
        return meeting_details_message(view, locale, "meeting.details", upcoming)
    if action == "edit":
        view = await service.edit_meeting(workspace, member, meeting_id, **_fields(options))
        upcoming = await service.upcoming_occurrences(workspace, view.id, 3)
        return meeting_details_message(view, locale, "meeting.edited", upcoming)
    if action in ("pause", "resume", "cancel"):
        change = {"pause": service.pause_meeting, "resume": service.resume_meeting,
                  "cancel": service.end_meeting}[action]
        view = await change(workspace, member, meeting_id)
        title_id = {"pause": "meeting.paused", "resume": "meeting.resumed", "cancel": "meeting.ended"}[action]
        return NoticeMessage(locale, f"#{view.id} {view.title}", translate(locale, title_id, title=view.title))
    _, occurrence = _need(args, 2, f"meeting {positional[0]} ID YYYY-MM-DD")
    key = await service.resolve_occurrence(workspace, meeting_id, occurrence)
    if action == "rsvp":
        (answer,) = _need(args[2:], 1, "yes | maybe | no")
        summary = await service.answer_rsvp(workspace, member, meeting_id, key, answer)
        return rsvp_recorded_message(summary, service.parse_rsvp_answer(answer), locale)
    if action == "who":
        return rsvp_details_message(await service.rsvp_details(workspace, member, meeting_id, key), locale)
    if action == "skip":
        view = await service.skip_occurrence(workspace, member, meeting_id, key)
        title_id = "meeting.skipped"
    elif action == "restore":
        view = await service.restore_occurrence(workspace, member, meeting_id, key)
        title_id = "meeting.restored"
    else:
        new_start = options.get("to") or " ".join(args[2:])
        if not new_start:
            raise errors.InvalidMeetingCommand(hint="to=YYYY-MM-DD HH:MM")
        view = await service.move_occurrence(workspace, member, meeting_id, key, new_start)
        title_id = "meeting.moved"
    upcoming = await service.upcoming_occurrences(workspace, view.id, 3)
    return meeting_details_message(view, locale, title_id, upcoming)
