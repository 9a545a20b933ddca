"""Meeting models: a recurring series, its one-off exceptions, and RSVPs per occurrence.

Reminders are not stored one by one: each meeting keeps only its *next* reminder
(``next_reminder_at`` and what it is for), indexed, so a scheduler pass reads what is due and
nothing else. Occurrences are named by their original local start (``2026-12-07T10:00``), like
RFC 5545's RECURRENCE-ID, so a skip, a move or an RSVP survives unrelated edits of the series.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from core.models import Member, Workspace
from core.projects.models import Project

ACTIVE, PAUSED, ENDED = "active", "paused", "ended"
DEFAULT_REMINDER_OFFSETS = [24 * 60, 15]  # minutes before the start: 1 day and 15 minutes


class Meeting(Model):
    """A (usually recurring) cross-department information-exchange meeting."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="meetings", on_delete=fields.CASCADE
    )
    workspace_id: int
    title = fields.CharField(max_length=200)
    agenda = fields.TextField(default="")
    # Department names as shown (canonical spelling), and their ids for statistics.
    departments: list[str] = fields.JSONField(default=list)
    department_ids: list[int] = fields.JSONField(default=list)
    # The first occurrence as a local wall-clock time ("YYYY-MM-DDTHH:MM") in ``timezone``:
    # recurrences repeat the wall-clock time, so 10:00 stays 10:00 across a DST change.
    start_local = fields.CharField(max_length=16)
    timezone = fields.CharField(max_length=64)
    # RFC 5545 RRULE without DTSTART ("FREQ=MONTHLY;BYDAY=+1MO"); empty for a one-off meeting.
    rrule = fields.CharField(max_length=500, default="")
    # Last local day of the series (inclusive), if it ends.
    until_local = fields.DateField(null=True)
    duration_minutes = fields.IntField(default=60)
    place = fields.CharField(max_length=500, default="")
    # Where reminders go: a platform channel id (outbox address ``channel:<id>``).
    channel = fields.CharField(max_length=255)
    reminder_offsets: list[int] = fields.JSONField(default=list)
    organiser: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="organised_meetings", null=True, on_delete=fields.SET_NULL
    )
    organiser_id: int | None
    status = fields.CharField(max_length=16, default=ACTIVE)
    # The next reminder to send; NULL when there is none (paused, ended, nothing left).
    next_reminder_at = fields.DatetimeField(null=True, db_index=True)
    next_reminder_occurrence = fields.CharField(max_length=16, null=True)
    next_reminder_offset = fields.IntField(null=True)
    # Bumped by every change of the schedule: the scheduler's conditional update on it is the claim.
    schedule_version = fields.IntField(default=0)
    # After each occurrence ends, a prompt to thank the people who came is posted in ``channel``
    # (organisers can turn it off). Like reminders, only the *next* one is kept, indexed: the end of
    # the occurrence it is for. A due row whose occurrence is NULL has no plan yet (a meeting from
    # before prompts existed): the scheduler plans it from then on and posts nothing for the past.
    # A database default too: adding the column to a table that has rows needs one.
    thanks_prompt = fields.BooleanField(default=True, db_default=True)
    next_prompt_at = fields.DatetimeField(null=True, db_index=True)
    next_prompt_occurrence = fields.CharField(max_length=16, null=True)
    # The cross-department project it belongs to (a kick-off, a sync, a retrospective), if any: it then
    # invites the project's departments, its cards name the project, and the project lists it.
    project: fields.ForeignKeyNullableRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="meetings", null=True, on_delete=fields.SET_NULL
    )
    project_id: int | None
    # A platform object mirroring the series (e.g. a Discord Guild Scheduled Event id).
    external_event_id = fields.CharField(max_length=64, null=True)
    # The platform event that created it (a dialog submit, an interaction): delivered twice, one meeting.
    idempotency_key = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "meeting"
        indexes = (("workspace_id", "status"), ("project_id", "status"))
        unique_together = (("workspace_id", "idempotency_key"),)


class OccurrenceOverride(Model):
    """One occurrence skipped or moved, without changing the series."""

    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="overrides", on_delete=fields.CASCADE
    )
    meeting_id: int
    occurrence = fields.CharField(max_length=16)
    skipped = fields.BooleanField(default=False)
    # The new local start ("YYYY-MM-DDTHH:MM" in the meeting's time zone) of a moved occurrence.
    moved_to_local = fields.CharField(max_length=16, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "meeting_override"
        unique_together = (("meeting", "occurrence"),)


class Rsvp(Model):
    """One member's answer for one occurrence: yes (going), maybe, or no (can't go)."""

    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="rsvps", on_delete=fields.CASCADE
    )
    meeting_id: int
    occurrence = fields.CharField(max_length=16)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="rsvps", on_delete=fields.CASCADE
    )
    member_id: int
    answer = fields.CharField(max_length=8)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "meeting_rsvp"
        unique_together = (("meeting", "occurrence", "member"),)
