"""Project models: a cross-department project and its members.

A thanks may belong to one project (``Thanks.project``). The closing card is claimed once through
``announced_at`` (a conditional update, like a meeting's ``schedule_version``) and delivered by the
outbox.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from core.models import Member, Workspace

OPEN, CLOSED = "open", "closed"


class Project(Model):
    """People of several departments working toward one result, for a while."""

    id = fields.IntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="projects", on_delete=fields.CASCADE
    )
    workspace_id: int
    # The short tag people type after ``+`` (folded: lower case, half width).
    key = fields.CharField(max_length=32)
    name = fields.CharField(max_length=100)
    purpose = fields.TextField(default="")
    # The departments involved, by id (names are read when shown, so a rename shows everywhere).
    department_ids: list[int] = fields.JSONField(default=list)
    # A platform channel id: thanks sent there belong to the project; the closing card goes there.
    channel = fields.CharField(max_length=255, null=True)
    start_date = fields.DateField()
    end_date = fields.DateField(null=True)
    status = fields.CharField(max_length=16, default=OPEN)
    owner: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="owned_projects", null=True, on_delete=fields.SET_NULL
    )
    owner_id: int | None
    closed_at = fields.DatetimeField(null=True)
    # When the closing card was written to the outbox (the claim: set once, by one pass).
    announced_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "project"
        unique_together = (("workspace", "key"),)
        indexes = (("workspace_id", "channel"), ("status", "end_date"))


class ProjectMember(Model):
    """A member of a project (from any department)."""

    id = fields.IntField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "models.Project", related_name="memberships", on_delete=fields.CASCADE
    )
    project_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="project_memberships", on_delete=fields.CASCADE
    )
    member_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "project_member"
        unique_together = (("project", "member"),)
