"""The dashboard's tables: sign-in (one-time links and the sessions they open, stored as hashes only) and the
stored figures of periods that have ended."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from core.models import Member, Workspace


class DashboardLink(Model):
    """A one-time sign-in link sent in chat: bound to one member of one workspace, valid a few minutes."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="dashboard_links", on_delete=fields.CASCADE)
    workspace_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="dashboard_links", on_delete=fields.CASCADE)
    member_id: int
    # SHA-256 of the random token: a copy of the database signs nobody in.
    token_hash = fields.CharField(max_length=64, unique=True)
    locale = fields.CharField(max_length=8, default="ja")
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "dashboard_link"


class DashboardSession(Model):
    """A signed-in browser: the cookie holds the token, the row its hash."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="dashboard_sessions", on_delete=fields.CASCADE)
    workspace_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="dashboard_sessions", on_delete=fields.CASCADE)
    member_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    # Sent with every POST of the page (double-submit is not needed: the session row holds it).
    csrf_token = fields.CharField(max_length=64)
    locale = fields.CharField(max_length=8, default="ja")
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "dashboard_session"


class DashboardFigure(Model):
    """A figure of a period that has ended, as computed once: raw counts before any privacy rule, so one
    row serves every viewer of its workspace (``core.dashboard.insights`` applies the viewer's threshold).

    Keyed by the workspace's history ``epoch`` (``DashboardEpoch``): a change that restates history (a
    merge of departments) moves the epoch on, so a figure computed from the old history, even one being
    stored at that very moment, is never read again (docs/design.md, "The dashboard's stored figures").
    """

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="dashboard_figures", on_delete=fields.CASCADE)
    workspace_id: int
    epoch = fields.IntField(default=0)
    kind = fields.CharField(max_length=16)
    window_start = fields.DatetimeField()
    window_end = fields.DatetimeField()
    # The department filter: 0 for the whole workspace (no department has id 0).
    department = fields.IntField(default=0)
    # Bytes, in the shape its kind encodes (``core.dashboard.insights``): compact JSON for most, 32-bit
    # integers for the senders' reach (``bridge``, about a megabyte for a year). Not jsonb: PostgreSQL would
    # turn a large one back into text at every read, and nothing looks inside it in SQL.
    data = fields.BinaryField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "dashboard_figure"
        unique_together = (("workspace", "epoch", "kind", "window_start", "window_end", "department"),)


class DashboardEpoch(Model):
    """How many times a workspace's history was restated (departments merged): stored figures of an older
    epoch are stale. No row: epoch 0."""

    id = fields.IntField(primary_key=True)
    workspace: fields.OneToOneRelation[Workspace] = fields.OneToOneField(
        "models.Workspace", related_name="dashboard_epoch", on_delete=fields.CASCADE)
    workspace_id: int
    epoch = fields.IntField(default=0)

    class Meta:
        table = "dashboard_epoch"
