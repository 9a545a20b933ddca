"""Dashboard sign-in: one-time links and the sessions they open, stored as hashes only."""

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
