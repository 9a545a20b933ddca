"""``/project`` (``/プロジェクト``) and the closing card's "Thank the team" button, as routes.

The subcommands build ``core.app`` project commands from their options; the button opens the
thanks form with the project's other members already picked (a modal, so it is never deferred).
"""

from __future__ import annotations

from typing import Any, cast

from adapters.discord import ids, wire
from adapters.discord.routing import Request, Route, Turn, listed, text, thanks_modal, values_for_form
from adapters.discord.wire import InteractionResponse
from core.app import commands as c
from core.app import outcomes as o
from core.i18n import translate
from core.services.members import Person

# The closing card's button: answered with a modal (never deferred).
THANK_PROJECT_ACTION = "thank_project"
THANKS_FORM = "kizuna:thanksform:"  # the same form as /thanks: a submit is an ordinary thanks


def _fields(request: Request) -> c.ProjectFields:
    options = request.options
    channel = options.get("channel")
    return c.ProjectFields(name=text(options, "name"), purpose=text(options, "purpose"),
                           departments=text(options, "departments"),
                           channel=ids.channel_id(channel) if channel else None,
                           start=text(options, "start"), end=text(options, "end"))


def _people(request: Request, *names: str) -> tuple[Person, ...]:
    return tuple(request.person(request.options[n]) for n in names if request.options.get(n))


def _project(request: Request) -> str:
    return str(request.options.get("project") or "")


def create_command(request: Request) -> c.Command:
    return c.CreateProject(str(request.options.get("key") or ""), _fields(request),
                           _people(request, "member", "member2", "member3"))


def edit_command(request: Request) -> c.Command:
    owner = _people(request, "owner")
    return c.EditProject(_project(request), _fields(request), owner[0] if owner else None)


def thank_project_command(request: Request) -> c.Command:
    return c.ShowProject(str(request.options.get("project", ""))[:100])


class ProjectCommands:
    """The ``/project`` subcommands and the "Thank the team" button."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {
            "create": Route(create_command),
            "list": Route(lambda r: c.ListProjects(bool(r.options.get("all")))),
            "show": Route(lambda r: c.ShowProject(_project(r))),
            "edit": Route(edit_command),
            "add": Route(lambda r: c.AddProjectMembers(_project(r), _people(r, "member", "member2", "member3"))),
            "remove": Route(lambda r: c.RemoveProjectMembers(_project(r), _people(r, "member"))),
            "join": Route(lambda r: c.JoinProject(_project(r))),
            "close": Route(lambda r: c.CloseProject(_project(r))),
            "reopen": Route(lambda r: c.ReopenProject(_project(r))),
        }
        self.actions: dict[str, Route] = {THANK_PROJECT_ACTION: Route(thank_project_command, self._thanks_form)}

    async def _thanks_form(self, turn: Turn, outcome: o.Outcome) -> InteractionResponse:
        """The thanks form with the project's other members already picked."""
        shown = cast(o.ProjectShown, outcome)
        others = tuple(p.platform_user_id for p in shown.view.members
                       if p.id != turn.context.actor.id and p.platform_user_id.isdigit())
        return thanks_modal(turn, custom_id=THANKS_FORM, people=others, values=await values_for_form(turn),
                            title=translate(turn.locale, "discord.project.thanks_title", name=shown.view.name))


def project_options(request: Request) -> tuple[str, ...]:
    """The project a ``/thanks`` or a form names (``project`` option or select), as tags."""
    return tuple(listed(request.options.get("project")))


def project_select(projects: tuple[Any, ...], locale: str) -> list[dict[str, Any]]:
    """The open projects as select options, and "no project"."""
    options = [{"label": f"{p.name} +{p.key}"[:100], "value": p.key[:100]} for p in projects]
    return [*options, {"label": translate(locale, "teams.form.no_project"), "value": "none"}] if options else []


__all__ = ["THANKS_FORM", "THANK_PROJECT_ACTION", "ProjectCommands", "project_options", "project_select", "wire"]
