"""CSV export: one row per thanks and recipient, streamed in batches (never the whole table in memory).

The last column is the key of the project the thanks was given within (empty for none)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

from core.models import Department, Member, ThanksRecipient, ThanksValue, Workspace
from core.projects.models import Project

EXPORT_COLUMNS = (
    "time", "workspace", "thanks_id", "sender_id", "sender_name", "sender_department",
    "recipient_id", "recipient_name", "recipient_department", "values", "message", "claps", "project",
)
BATCH = 1000
# A cell that starts with one of these is a formula to Excel and LibreOffice (CSV injection):
# OWASP's advice is to start it with a single quote, which makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(cell: str) -> str:
    """``=HYPERLINK(…)`` → ``'=HYPERLINK(…)``: a cell a spreadsheet would run is written as text."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


async def export_rows(workspaces: list[Workspace], since: datetime | None = None) -> AsyncIterator[list[str]]:
    """Rows of EXPORT_COLUMNS, oldest first; names and departments are those at the time of the thanks
    (thanks from before names were kept show the current name)."""
    for workspace in workspaces:
        tz = ZoneInfo(workspace.timezone)
        departments = {d.id: d.name for d in await Department.filter(workspace_id=workspace.id)}
        projects = {p.id: p.key for p in await Project.filter(workspace_id=workspace.id).only("id", "key")}
        names: dict[int, tuple[str, str]] = {}
        last_id = 0
        while True:
            query = ThanksRecipient.filter(workspace_id=workspace.id, id__gt=last_id)
            if since is not None:
                query = query.filter(created_at__gte=since)
            batch = await query.order_by("id").limit(BATCH).prefetch_related("thanks")
            if not batch:
                break
            last_id = batch[-1].id
            wanted = {r.sender_id for r in batch} | {r.recipient_id for r in batch}
            missing = wanted - names.keys()
            if missing:
                for m in await Member.filter(id__in=list(missing)).only("id", "platform_user_id", "display_name"):
                    names[m.id] = (m.platform_user_id, m.display_name)
            thanks_ids = list({r.thanks_id for r in batch})
            tags: dict[int, list[str]] = {}
            links = await ThanksValue.filter(thanks_id__in=thanks_ids).order_by("thanks_id", "position") \
                .prefetch_related("value")
            for link in links:
                tags.setdefault(link.thanks_id, []).append(link.value.key)
            for r in batch:
                sender, recipient = names[r.sender_id], names[r.recipient_id]
                yield [
                    r.created_at.astimezone(tz).isoformat(timespec="seconds"),
                    f"{workspace.platform}:{workspace.external_id}", str(r.thanks_id),
                    sender[0], r.sender_name or sender[1], departments.get(r.sender_department_id, ""),
                    recipient[0], r.recipient_name or recipient[1], departments.get(r.recipient_department_id, ""),
                    " ".join(tags.get(r.thanks_id, [])), r.thanks.message, str(r.thanks.clap_count),
                    projects.get(r.thanks.project_id or 0, ""),
                ]


async def export_csv(workspaces: list[Workspace], since: datetime | None = None, *,
                     bom: bool = False) -> AsyncIterator[str]:
    """CSV text chunks (UTF-8; ``bom`` adds the byte-order mark Excel wants); no cell is a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        buffer.write("\ufeff")
    writer.writerow(EXPORT_COLUMNS)
    async for row in export_rows(workspaces, since):
        writer.writerow([neutralize(cell) for cell in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
