"""The handlers of the project commands (``core.app.execute`` loads them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.app import commands as c
from core.app import outcomes as o
from core.app.execute import Context, handles, members_for
from core.i18n import fold
from core.models import Workspace
from core.projects import errors
from core.projects import service as projects
from core.projects.models import Project

# ``channel=here``: the channel the command was typed in.
HERE_WORDS = frozenset({"here", "this", "ここ", "このチャンネル", "このチャネル"})


def _fields(context: Context, fields: c.ProjectFields) -> dict[str, Any]:
    given: dict[str, Any] = {k: v for k, v in fields.__dict__.items() if v is not None}
    if "channel" in given and fold(str(given["channel"])) in HERE_WORDS:
        given["channel"] = context.channel or ""
    return given


async def shown(workspace: Workspace, view: projects.ProjectView, event: o.ProjectEvent, *,
                now: datetime | None = None) -> o.ProjectShown:
    """A project with its figures."""
    return o.ProjectShown(view, await projects.figures(workspace, view.id, now=now), event)


@handles(c.CreateProject)
async def _create(context: Context, command: c.CreateProject) -> o.Outcome:
    people = await members_for(context, command.members) if command.members else []
    given = _fields(context, command.fields)
    name = given.pop("name", None) or command.key
    view = await projects.create_project(context.workspace, context.actor, command.key, name, members=people,
                                         now=context.now, **given)
    return await shown(context.workspace, view, "created", now=context.now)


@handles(c.EditProject)
async def _edit(context: Context, command: c.EditProject) -> o.Outcome:
    given = _fields(context, command.fields)
    owner = (await members_for(context, [command.owner]))[0] if command.owner else None
    if not given and owner is None:
        raise errors.NoProjectFields(hint="name= purpose= departments= channel= start= end=")
    view = await projects.edit_project(context.workspace, context.actor, command.project, owner=owner, **given)
    return await shown(context.workspace, view, "edited", now=context.now)


@handles(c.AddProjectMembers)
async def _add(context: Context, command: c.AddProjectMembers) -> o.Outcome:
    people = await members_for(context, command.people)
    view = await projects.add_members(context.workspace, context.actor, command.project, people)
    return await shown(context.workspace, view, "members_added", now=context.now)


@handles(c.RemoveProjectMembers)
async def _remove(context: Context, command: c.RemoveProjectMembers) -> o.Outcome:
    people = await members_for(context, command.people)
    view = await projects.remove_members(context.workspace, context.actor, command.project, people)
    return await shown(context.workspace, view, "members_removed", now=context.now)


@handles(c.JoinProject)
async def _join(context: Context, command: c.JoinProject) -> o.Outcome:
    view = await projects.join_project(context.workspace, context.actor, command.project)
    return await shown(context.workspace, view, "joined", now=context.now)


@handles(c.CloseProject)
async def _close(context: Context, command: c.CloseProject) -> o.Outcome:
    view = await projects.close_project(context.workspace, context.actor, command.project, now=context.now)
    return await shown(context.workspace, view, "closed", now=context.now)


@handles(c.ReopenProject)
async def _reopen(context: Context, command: c.ReopenProject) -> o.Outcome:
    view = await projects.reopen_project(context.workspace, context.actor, command.project)
    return await shown(context.workspace, view, "reopened", now=context.now)


@handles(c.ListProjects)
async def _list(context: Context, command: c.ListProjects) -> o.Outcome:
    views = await projects.list_projects(context.workspace, include_closed=command.include_closed)
    return o.ProjectsListed(tuple(views), command.include_closed)


@handles(c.ShowProject)
async def _show(context: Context, command: c.ShowProject) -> o.Outcome:
    view = await projects.get_project(context.workspace, command.project)
    return await shown(context.workspace, view, "details", now=context.now)


async def closing(workspace: Workspace, project_id: int) -> o.ProjectClosing:
    """The closing card of a project as it is when delivered."""
    project = await Project.get_or_none(id=project_id, workspace_id=workspace.id)
    if project is None:
        raise errors.UnknownProject(tag=str(project_id), available="—")
    view = await projects.get_project(workspace, project.key)
    # Its figures as they stood when it closed (the card may be delivered later).
    return o.ProjectClosing(view, await projects.figures(workspace, project_id, now=project.closed_at))
