"""Projects → neutral messages: the project card with its department matrix, the list, the closing card."""

from __future__ import annotations

from cards.build import person
from cards.model import Action, MatrixRow, Message, NoticeMessage, ProjectMessage
from cards.outcomes import TEXT_SURFACES, Audience, renders
from core.app import outcomes as o
from core.app.grammar import usage
from core.i18n import format_date, format_number, translate
from core.projects.models import OPEN
from core.projects.service import ProjectFigures, ProjectView

_TITLES = {"created": "project.title.created", "edited": "project.title.edited",
           "members_added": "project.title.members_added", "members_removed": "project.title.members_removed",
           "joined": "project.title.joined", "closed": "project.title.closed", "reopened": "project.title.reopened",
           "details": "project.title.details"}


def _thanks_usage(audience: Audience, key: str) -> str:
    """How to thank within the project, in the words of the reader's surface."""
    lang = audience.lang
    if audience.platform == "discord":
        return (f"/{translate(lang, 'discord.cmd.thanks')} "
                f"{translate(lang, 'discord.opt.project')}:{key}")
    return f"{usage('thanks', lang, optional=False)} +{key}"


def _names(names: list[str] | tuple[str, ...], lang: str) -> str:
    return ("、" if lang == "ja" else ", ").join(names)


def _dates(view: ProjectView, lang: str) -> str:
    start = format_date(view.start, lang)
    status = translate(lang, f"project.status.{view.status}")
    if view.end is None:
        return translate(lang, "project.dates.open_ended", start=start, status=status)
    return translate(lang, "project.dates", start=start, end=format_date(view.end, lang), status=status)


def _details(view: ProjectView, lang: str) -> tuple[str, ...]:
    lines = [view.purpose] if view.purpose else []
    lines.append(_dates(view, lang))
    if view.departments:
        lines.append(translate(lang, "project.departments", departments=_names(view.departments, lang)))
    if view.owner is not None:
        lines.append(translate(lang, "project.owner", name=view.owner.display_name))
    names = _names([m.display_name for m in view.members], lang) or "—"
    members = translate(lang, "project.members", count=len(view.members))
    lines.append(translate(lang, "project.members.line", members=members, names=names))
    return tuple(lines)


def _meetings(figures: ProjectFigures, lang: str) -> tuple[str, ...]:
    """``Its 2 meetings met 5 times: #3 Kick-off · #4 Weekly sync`` (nothing for a project without any)."""
    if not figures.meetings:
        return ()
    names = _names([f"#{m.id} {m.title}" for m in figures.meetings], lang)
    return (translate(lang, "project.meetings.line",
                      meetings=translate(lang, "project.meetings", count=len(figures.meetings)),
                      times=translate(lang, "project.meetings.times", count=figures.meetings_met), names=names),)


def _matrix(figures: ProjectFigures) -> tuple[tuple[str, ...], tuple[MatrixRow, ...]]:
    columns = figures.departments
    rows = tuple(MatrixRow(name, tuple(str(n) for n in figures.matrix[i])) for i, name in enumerate(columns))
    return columns, rows


def _summary(figures: ProjectFigures, lang: str) -> str:
    if not figures.thanks:
        return translate(lang, "project.no_thanks")
    return translate(lang, "project.thanks.cross", thanks=translate(lang, "project.thanks", count=figures.thanks),
                     cross=figures.cross_department)


def _values(figures: ProjectFigures, lang: str) -> str:
    if not figures.values:
        return ""
    shown = [f"{v.emoji} {v.name(lang)} ×{format_number(n, lang)}".strip() for v, n in figures.values[:5]]
    return translate(lang, "project.values", values=" · ".join(shown))


def project_message(view: ProjectView, figures: ProjectFigures, audience: Audience, title_id: str) -> ProjectMessage:
    """A project as its card shows it."""
    lang = audience.lang
    columns, rows = _matrix(figures)
    hint = translate(lang, "project.hint", usage=_thanks_usage(audience, view.key)) if view.status == OPEN else ""
    return ProjectMessage(
        locale=lang, title=translate(lang, title_id, key=view.key, name=view.name), project_key=view.key,
        details=(*_details(view, lang), *_meetings(figures, lang)), summary=_summary(figures, lang),
        matrix_caption=translate(lang, "project.matrix.caption") if rows else "",
        corner=translate(lang, "project.matrix.corner"), columns=columns, rows=rows,
        values_text=_values(figures, lang), hint=hint)


@renders(o.ProjectShown)
def _project(outcome: o.ProjectShown, audience: Audience) -> Message:
    return project_message(outcome.view, outcome.figures, audience, _TITLES[outcome.event])


@renders(o.ProjectsListed)
def _projects(outcome: o.ProjectsListed, audience: Audience) -> Message:
    lang = audience.lang
    title = translate(lang, "projects.title.all" if outcome.include_closed else "projects.title")
    if not outcome.views:
        how = usage("project.create", lang, optional=False) if audience.platform in TEXT_SURFACES else \
            f"/{translate(lang, 'discord.project.cmd')} {translate(lang, 'discord.project.sub.create')}"
        return NoticeMessage(lang, translate(lang, "projects.empty", usage=how), title)
    lines = []
    for view in outcome.views:
        departments = " × ".join(view.departments) or "—"
        members = translate(lang, "project.members", count=len(view.members))
        status = translate(lang, f"project.status.{view.status}")
        lines.append(translate(lang, "projects.line", key=view.key, name=view.name, departments=departments,
                               members=members, status=status))
    return NoticeMessage(lang, "\n".join(lines), title)


@renders(o.ProjectClosing)
def _closing(outcome: o.ProjectClosing, audience: Audience) -> Message:
    """The closing card: its figures, and every member invited to thank the people they worked with."""
    lang = audience.lang
    view = outcome.view
    message = project_message(view, outcome.figures, audience, "project.closing.title")
    people = tuple(person(m) for m in view.members)
    # The project is closed (it takes no new thanks): the retro round is plain thanks to the other members.
    if audience.platform == "discord":
        how = f"/{translate(lang, 'discord.cmd.thanks')}"
    else:
        how = " ".join([usage("thanks", lang, optional=False).split()[0], *(f"@{m.display_name}" for m in view.members),
                        "…"])
    invitation = translate(lang, "project.closing.invite", usage=how)
    actions = (Action("thank_project", translate(lang, "project.closing.button"), {"project": view.key}),) \
        if len(view.members) > 1 else ()
    return ProjectMessage(
        locale=message.locale, title=message.title, project_key=view.key, details=message.details,
        summary=message.summary, matrix_caption=message.matrix_caption, corner=message.corner,
        columns=message.columns, rows=message.rows, values_text=message.values_text, hint="",
        invitation=invitation, people=people, actions=actions)
