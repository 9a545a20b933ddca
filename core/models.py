"""Tortoise models: every row belongs to exactly one workspace."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

# Department ids in the statistics tables are plain integers (not foreign keys) so that
# "no department" can be 0 and take part in unique constraints and GROUP BY like any other.
NO_DEPARTMENT = 0

# Primary keys are ``IntField``s: 32-bit on PostgreSQL. An id that comes from outside (a button, a
# typed command) beyond that range names no row; it must not reach the database, which refuses the
# query (PostgreSQL: out of range for integer; SQLite: Python int too large).
MAX_ID = 2**31 - 1


def is_row_id(value: int) -> bool:
    """Whether ``value`` can be the id of a row (1 to ``MAX_ID``)."""
    return 1 <= value <= MAX_ID


class Workspace(Model):
    """One Teams tenant, one Discord guild or one console workspace."""

    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=32)
    external_id = fields.CharField(max_length=255)
    name = fields.CharField(max_length=255, default="")
    default_locale = fields.CharField(max_length=8, default="ja")
    timezone = fields.CharField(max_length=64, default="Asia/Tokyo")
    feed_channel = fields.CharField(max_length=255, null=True)
    leaderboard_enabled = fields.BooleanField(default=True)
    daily_limit = fields.IntField(default=20)
    max_message_length = fields.IntField(default=500)
    value_required = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    # The digest: "weekly" (Monday 09:00), "monthly" (the 1st, 09:00) in the workspace's zone, or "off".
    # (db_default: rows from before this column get it too.)
    digest_schedule = fields.CharField(max_length=16, default="weekly", db_default="weekly")
    # When the next digest is due (indexed: a scheduler pass reads only what has come due). NULL with
    # a schedule that is not "off" means "not planned yet": the next pass plans it.
    next_digest_at = fields.DatetimeField(null=True, db_index=True)
    # When the next personal monthly recaps are due (NULL while nobody asked for one).
    next_recap_at = fields.DatetimeField(null=True, db_index=True)
    # The dashboard hides from non-admins any number built from fewer distinct people than this.
    privacy_threshold = fields.IntField(default=3, db_default=3)
    # When the dashboard's stored figures are next warmed (``core.dashboard.warming``): an hour after the
    # workspace's next midnight. Indexed: a pass reads only what has come due. NULL: due now (new, or from
    # before warming).
    next_warm_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "workspace"
        unique_together = (("platform", "external_id"),)


class Department(Model):
    """A named group of members (set by an admin, imported, or mapped from a Discord role)."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="departments", on_delete=fields.CASCADE
    )
    workspace_id: int
    name = fields.CharField(max_length=100)
    # Discord: members holding this role belong to this department.
    platform_role_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "department"
        unique_together = (("workspace", "name"),)


class Member(Model):
    """A person (or a bot) in a workspace."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="members", on_delete=fields.CASCADE
    )
    workspace_id: int
    platform_user_id = fields.CharField(max_length=255)
    display_name = fields.CharField(max_length=255, default="")
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="members", null=True, on_delete=fields.SET_NULL
    )
    department_id: int | None
    locale = fields.CharField(max_length=16, null=True)
    timezone = fields.CharField(max_length=64, null=True)
    # Admin by Kizuna's own grant (installer, KIZUNA_TEAMS_ADMIN_IDS, members import)…
    is_admin = fields.BooleanField(default=False)
    # …or by the platform on the latest request (Discord: Manage Guild or Administrator).
    platform_admin = fields.BooleanField(default=False)
    is_bot = fields.BooleanField(default=False)
    notifications_enabled = fields.BooleanField(default=True)
    # The personal monthly recap (a private message), opt-in.
    recap_enabled = fields.BooleanField(default=False, db_default=False)
    # All-time totals, kept in the same transaction as the thanks, so that the all-time
    # leaderboard is an index scan instead of an aggregate over every thanks ever given.
    received_count = fields.IntField(default=0)
    sent_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    @property
    def may_administer(self) -> bool:
        """Admin by either grant."""
        return bool(self.is_admin or self.platform_admin)

    class Meta:
        table = "member"
        unique_together = (("workspace", "platform_user_id"),)
        indexes = (("workspace_id", "received_count"), ("workspace_id", "sent_count"))


class Value(Model):
    """One of the organisation's values, used to tag a thanks."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="values", on_delete=fields.CASCADE
    )
    workspace_id: int
    key = fields.CharField(max_length=64)
    name_en = fields.CharField(max_length=64)
    name_ja = fields.CharField(max_length=64)
    emoji = fields.CharField(max_length=32, default="")
    description_en = fields.CharField(max_length=255, default="")
    description_ja = fields.CharField(max_length=255, default="")
    position = fields.IntField(default=0)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "value"
        unique_together = (("workspace", "key"),)


class Thanks(Model):
    """A thanks from one member to one or more others."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="thanks", on_delete=fields.CASCADE
    )
    workspace_id: int
    sender: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="sent_thanks", on_delete=fields.CASCADE
    )
    sender_id: int
    message = fields.TextField()
    created_at = fields.DatetimeField()
    # The sender's local calendar day, for the daily limit.
    local_day = fields.DateField()
    # The platform's event id (activity id, interaction id): the same delivery twice makes one thanks.
    idempotency_key = fields.CharField(max_length=255, null=True)
    clap_count = fields.IntField(default=0)
    # Where the thanks was posted, so a later edit (a clap) can update that message.
    channel_ref = fields.CharField(max_length=255, null=True)
    # The cross-department project the thanks was given within (``core.projects``), if any.
    project: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Project", related_name="thanks", null=True, on_delete=fields.SET_NULL
    )
    project_id: int | None

    class Meta:
        table = "thanks"
        unique_together = (("workspace", "idempotency_key"),)
        # (workspace, day, sender) serves the daily limit; no index leads with the sender, or SQLite
        # would scan it whole to group the "sent" leaderboard instead of range-scanning by time.
        # clap_count rides along so that a period's most-clapped thanks (the digest) is an index-only scan too.
        indexes = (("workspace_id", "local_day", "sender_id"),
                   ("workspace_id", "created_at", "sender_id", "clap_count"), ("project_id", "created_at"))


class ThanksRecipient(Model):
    """One recipient of a thanks, with the departments as they were at that moment."""

    id = fields.IntField(primary_key=True)
    thanks: fields.ForeignKeyRelation[Thanks] = fields.ForeignKeyField(
        "models.Thanks", related_name="recipients", on_delete=fields.CASCADE
    )
    thanks_id: int
    recipient: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="received_thanks", on_delete=fields.CASCADE
    )
    recipient_id: int
    position = fields.IntField(default=0)
    # Denormalised from the thanks so statistics read one table through one index.
    workspace_id = fields.IntField()
    sender_id = fields.IntField()
    created_at = fields.DatetimeField()
    sender_department_id = fields.IntField(default=NO_DEPARTMENT)
    recipient_department_id = fields.IntField(default=NO_DEPARTMENT)
    # The names as they were at that moment (the export shows them); empty on rows from before 0006.
    sender_name = fields.CharField(max_length=255, default="")
    recipient_name = fields.CharField(max_length=255, default="")

    class Meta:
        table = "thanks_recipient"
        unique_together = (("thanks", "recipient"),)
        # Covering for a period's reads: the leaderboard (by recipient) and the digest (people and the
        # cross-department share) scan this index alone, never the table.
        indexes = (("workspace_id", "created_at", "recipient_id", "sender_id", "sender_department_id",
                    "recipient_department_id"),)


class ThanksValue(Model):
    """A value a thanks is tagged with."""

    id = fields.IntField(primary_key=True)
    thanks: fields.ForeignKeyRelation[Thanks] = fields.ForeignKeyField(
        "models.Thanks", related_name="value_links", on_delete=fields.CASCADE
    )
    thanks_id: int
    value: fields.ForeignKeyRelation[Value] = fields.ForeignKeyField(
        "models.Value", related_name="thanks_links", on_delete=fields.CASCADE
    )
    value_id: int
    position = fields.IntField(default=0)

    class Meta:
        table = "thanks_value"
        unique_together = (("thanks", "value"),)


class Clap(Model):
    """A 👏 on a thanks: one per member per thanks."""

    id = fields.IntField(primary_key=True)
    thanks: fields.ForeignKeyRelation[Thanks] = fields.ForeignKeyField(
        "models.Thanks", related_name="claps", on_delete=fields.CASCADE
    )
    thanks_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="claps", on_delete=fields.CASCADE
    )
    member_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "clap"
        unique_together = (("thanks", "member"),)


class DepartmentFlow(Model):
    """Thanks per day from one department to another (a rollup kept with each thanks)."""

    id = fields.IntField(primary_key=True)
    workspace_id = fields.IntField()
    day = fields.DateField()
    sender_department_id = fields.IntField()
    recipient_department_id = fields.IntField()
    count = fields.IntField(default=0)

    class Meta:
        table = "department_flow"
        unique_together = (("workspace_id", "day", "sender_department_id", "recipient_department_id"),)
        # Covering, in GROUP BY order: the all-time matrix reads the index alone.
        indexes = (("workspace_id", "sender_department_id", "recipient_department_id", "day", "count"),)


class Address(Model):
    """Where Kizuna can reach a member 1:1 or post in a channel, in the platform's own terms.

    ``key`` is ``member:<platform user id>`` or ``channel:<platform channel id>``; ``payload`` is
    what the adapter needs to send there (a Teams conversation reference, a Discord channel id).
    """

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="addresses", on_delete=fields.CASCADE
    )
    workspace_id: int
    key = fields.CharField(max_length=255)
    payload: dict[str, object] = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "address"
        unique_together = (("workspace", "key"),)


class Welcome(Model):
    """A conversation Kizuna has said hello in since it was last installed there.

    A platform may announce one install with several events (Teams sends a ``conversationUpdate``
    and an ``installationUpdate``); the row makes the welcome happen once, whichever comes first
    and in whichever process. Uninstalling removes it, so a later install welcomes again.
    """

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="welcomes", on_delete=fields.CASCADE
    )
    workspace_id: int
    conversation = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "welcome"
        unique_together = (("workspace", "conversation"),)


class Delivery(Model):
    """The outbox: a message Kizuna sends on its own, written before it is sent."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="deliveries", on_delete=fields.CASCADE
    )
    workspace_id: int
    platform = fields.CharField(max_length=32)
    address_key = fields.CharField(max_length=255)
    kind = fields.CharField(max_length=32)
    # The neutral message (cards.message_to_dict) and the locale it is rendered in.
    message: dict[str, object] = fields.JSONField()
    locale = fields.CharField(max_length=16, default="ja")
    dedupe_key = fields.CharField(max_length=255, null=True, unique=True)
    status = fields.CharField(max_length=16, default="pending")
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    claimed_until = fields.DatetimeField(null=True)
    claimed_by = fields.CharField(max_length=64, null=True)
    last_error = fields.TextField(null=True)
    late = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "delivery"
        indexes = (("status", "next_attempt_at"),)
