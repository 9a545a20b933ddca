"""The insights dashboard on the one aiohttp app: sign-in pages, the page, its JSON/CSV API and static files.

Routes (``mount``):

- ``GET /dashboard/signin/{token}`` — a small page with a "Continue" button; reading it never uses the
  link up (link previews and mail scanners fetch links before people click);
- ``POST /dashboard/signin/{token}`` — uses the link up, sets the session cookie, redirects to ``/dashboard``;
- ``GET /dashboard`` — the page (signed in) or how to sign in;
- ``GET /dashboard/api/{figure}`` — the figures as JSON, or CSV with ``format=csv``;
- ``GET /dashboard/api/config`` — what the page needs to start (strings, role, departments), for the Teams tab;
- ``POST /dashboard/signout`` — ends the session (the form carries the session's CSRF token);
- ``GET /dashboard/teams`` and ``GET /dashboard/teams/configure`` — the page in a Teams tab, and the channel
  tab's configuration page: TeamsJS gets the person's Entra ID token, the Teams adapter's
  ``POST /dashboard/teams/session`` turns it into a session, whose token the page sends as
  ``Authorization: Bearer …`` (third-party cookies in an iframe are unreliable);
- ``GET /dashboard/teams/consent`` and ``GET /dashboard/teams/consent/end`` — the window TeamsJS opens when a
  person must consent before Teams gives the tab a token: it sends them to Entra's authorize page (with the
  parameters of the Teams adapter's ``GET /dashboard/teams/consent/parameters``) and tells Teams how it went;
  a window, never framed;
- ``GET /dashboard/static/{name}`` — the page's scripts, styles, the vendored Apache ECharts and TeamsJS.

The API takes the session from the cookie or from a bearer token. Only the Teams pages may be framed, and only
by Teams; every other page says ``frame-ancestors 'none'``.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from core.config import Settings
from core.dashboard import access, insights
from core.errors import KizunaError
from core.i18n import catalog, resolve_locale, translate

STATIC = Path(__file__).parent / "static"
COOKIE = "kizuna_dashboard"
STATIC_FILES = {"echarts.min.js": "text/javascript", "dashboard.js": "text/javascript",
                "dashboard.css": "text/css", "MicrosoftTeams.min.js": "text/javascript", "teams.js": "text/javascript",
                "ECHARTS-LICENSE": "text/plain", "TEAMSJS-LICENSE": "text/plain"}
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors ")
CSP = _CSP + "'none'"
# The Teams clients' origins, exactly the "Teams" row of Microsoft's tab requirements
# (https://learn.microsoft.com/en-us/microsoftteams/platform/tabs/how-to/tab-requirements): the classic
# web/desktop client and the new teams.cloud.microsoft one. The other Microsoft 365 hosts (Outlook,
# microsoft365.com, *.cloud.microsoft) are left out: the app package declares Teams only.
TEAMS_FRAME_ANCESTORS = ("https://teams.microsoft.com", "https://*.teams.microsoft.com", "https://teams.cloud.microsoft")
TEAMS_CSP = _CSP + " ".join(TEAMS_FRAME_ANCESTORS)
TEAMS_TAB_PATH = "/dashboard/teams"
FIGURES: dict[str, Callable[[insights.Scope], Awaitable[dict[str, Any] | None]]] = {
    "overview": insights.overview,
    "heatmap": insights.heatmap,
    "network": insights.network,
    "trends": insights.trends,
    "bridges": insights.bridges,
    "values": insights.values,
    "meetings": insights.meetings,
    "mixers": insights.mixers,
    "projects": insights.projects,
    "leaderboard": insights.leaderboard,
}


def _secure(response: web.StreamResponse, *, teams: bool = False) -> web.StreamResponse:
    response.headers.update({"Content-Security-Policy": TEAMS_CSP if teams else CSP,
                             "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                             "Cache-Control": "no-store", "X-Robots-Tag": "noindex"})
    return response


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;"))


def _page(lang: str, title: str, body: str, *, status: int = 200, scripts: tuple[str, ...] = (),
          teams: str = "") -> web.Response:
    """An HTML page; ``teams`` (the Teams mode: ``tab`` or ``configure``) lets Teams frame it (the consent
    window's modes are pages of their own)."""
    tags = "".join(f'<script src="/dashboard/static/{name}" defer></script>' for name in scripts)
    body_tag = f'<body data-teams="{_escape(teams)}">' if teams else "<body>"
    html = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{_escape(title)}</title><link rel="stylesheet" href="/dashboard/static/dashboard.css">{tags}'
            f'</head>{body_tag}{body}</body></html>')
    response = web.Response(text=html, content_type="text/html", status=status)
    return _secure(response, teams=teams in ("tab", "configure"))  # type: ignore[return-value]


def _message_page(lang: str, title_id: str, text_id: str, status: int) -> web.Response:
    title = translate(lang, title_id)
    return _page(lang, title, f'<main class="card"><h1>{_escape(title)}</h1>'
                              f'<p>{_escape(translate(lang, text_id))}</p></main>', status=status)


def _request_locale(request: web.Request) -> str:
    return resolve_locale(request.headers.get("Accept-Language", "").split(",")[0].strip() or None, "ja")


class Dashboard:
    """The dashboard's routes, for one app (``settings.base_url`` decides whether cookies are Secure)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.secure_cookie = urlsplit(settings.base_url).scheme == "https"

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/dashboard", self.page)
        app.router.add_get("/dashboard/signin/{token}", self.sign_in_page)
        app.router.add_post("/dashboard/signin/{token}", self.sign_in)
        app.router.add_post("/dashboard/signout", self.sign_out)
        app.router.add_get("/dashboard/api/config", self.config)
        app.router.add_get("/dashboard/api/{figure}", self.figure)
        app.router.add_get(TEAMS_TAB_PATH, self.teams_page)
        app.router.add_get(TEAMS_TAB_PATH + "/configure", self.teams_page)
        app.router.add_get(TEAMS_TAB_PATH + "/consent", self.teams_page)
        app.router.add_get(TEAMS_TAB_PATH + "/consent/end", self.teams_page)
        app.router.add_get("/dashboard/static/{name}", self.static)

    # ---- signing in -----------------------------------------------------------------------------

    async def sign_in_page(self, request: web.Request) -> web.Response:
        look = await access.peek_link(request.match_info["token"])
        lang = look.locale or _request_locale(request)
        if look.state != "valid":
            return self._bad_link(lang, look.state)
        title = translate(lang, "dashboard.signin.title")
        return _page(lang, title, (
            f'<main class="card"><h1>{_escape(title)}</h1><p>{_escape(translate(lang, "dashboard.signin.text"))}</p>'
            f'<form method="post"><button type="submit">{_escape(translate(lang, "dashboard.signin.continue"))}'
            f'</button></form></main>'))

    def _bad_link(self, lang: str, state: str) -> web.Response:
        kind = state if state in ("used", "expired") else "unknown"
        return _message_page(lang, "dashboard.link_bad.title", f"dashboard.link_bad.{kind}",
                             404 if kind == "unknown" else 410)

    def _same_origin(self, request: web.Request) -> bool:
        """A browser's POST says where its page came from; only our own pages may sign in or out."""
        origin = request.headers.get("Origin")
        fetch_site = request.headers.get("Sec-Fetch-Site")
        if origin is None:
            return fetch_site in (None, "same-origin", "none")
        if origin == "null":  # our pages send no referrer, so browsers hide their origin; their fetch metadata says it
            return fetch_site == "same-origin"
        public = urlsplit(self.settings.base_url)
        return origin in {f"{request.scheme}://{request.host}", f"{public.scheme}://{public.netloc}"}

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        look = await access.peek_link(request.match_info["token"])
        lang = look.locale or _request_locale(request)
        if not self._same_origin(request):
            return _message_page(lang, "dashboard.link_bad.title", "dashboard.forbidden", 403)
        opened = await access.redeem_link(request.match_info["token"])
        if not isinstance(opened, access.OpenedSession):
            return self._bad_link(opened.locale or lang, opened.state)
        response = web.Response(status=303, headers={"Location": "/dashboard"})
        response.set_cookie(COOKIE, opened.token, max_age=int(access.SESSION_LIFETIME.total_seconds()),
                            path="/dashboard", httponly=True, samesite="Lax", secure=self.secure_cookie)
        _secure(response)
        return response

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        viewer = await self._viewer(request)
        form = await request.post()
        if viewer is None or not self._same_origin(request) or not hmac.compare_digest(
                str(form.get("csrf", "")), viewer.csrf_token):
            return _message_page(_request_locale(request), "dashboard.link_bad.title", "dashboard.forbidden", 403)
        await access.end_session(request.cookies.get(COOKIE, ""))
        response = _message_page(viewer.locale, "dashboard.signed_out.title", "dashboard.signed_out.text", 200)
        response.del_cookie(COOKIE, path="/dashboard")
        return response

    async def _viewer(self, request: web.Request) -> access.Viewer | None:
        """The session's viewer: from ``Authorization: Bearer`` (a Teams tab) or else the cookie."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return await access.viewer_for(token.strip())
        return await access.viewer_for(request.cookies.get(COOKIE, ""))

    # ---- the page -------------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        if viewer is None:
            return _message_page(_request_locale(request), "dashboard.signed_out.title", "dashboard.how_to_sign_in",
                                 401)
        config = await self._config(request, viewer)
        lang, strings = config["lang"], config["strings"]
        data = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
        title = strings.get("title", "Kizuna")
        other = "en" if lang == "ja" else "ja"
        body = (f'<header><h1>{_escape(title)}</h1><span class="who">{_escape(viewer.member.display_name)}'
                f' · {_escape(viewer.workspace.name)}</span><a class="lang" href="/dashboard?lang={other}">'
                f'{_escape(strings.get("other_language", other))}</a>'
                f'<form method="post" action="/dashboard/signout"><input type="hidden" name="csrf" '
                f'value="{_escape(viewer.csrf_token)}"><button type="submit">{_escape(strings.get("sign_out", ""))}'
                f'</button></form></header><main id="app"></main>'
                f'<script type="application/json" id="kizuna-config">{data}</script>')
        return _page(lang, title, body, scripts=("echarts.min.js", "dashboard.js"))

    async def _config(self, request: web.Request, viewer: access.Viewer) -> dict[str, Any]:
        """What the page's script starts from: its strings in the asked (or the session's) language, the
        viewer's role and the workspace's departments."""
        asked = request.query.get("lang", "")
        lang = asked if asked in ("ja", "en") else viewer.locale
        strings = {key[len("dashboard.ui."):]: translate(lang, key) for key in catalog(lang)
                   if key.startswith("dashboard.ui.")}
        departments = await insights._departments(insights.Scope(viewer, insights.resolve_window(
            "week", viewer.workspace.timezone)))
        return {"strings": strings, "admin": viewer.is_admin, "leaderboard": viewer.workspace.leaderboard_enabled,
                "departments": departments, "lang": lang, "threshold": viewer.workspace.privacy_threshold,
                "workspace": viewer.workspace.name, "member": viewer.member.display_name}

    async def config(self, request: web.Request) -> web.StreamResponse:
        """``GET /dashboard/api/config``: the page's start data as JSON (the Teams tab asks after signing in)."""
        viewer = await self._viewer(request)
        if viewer is None:
            return _secure(web.json_response({"error": "not signed in"}, status=401))
        return _secure(web.json_response(await self._config(request, viewer)))

    # ---- in a Teams tab -------------------------------------------------------------------------

    async def teams_page(self, request: web.Request) -> web.Response:
        """The dashboard in a Teams tab (or the channel tab's configuration page, or the consent window): a shell
        whose script signs in through TeamsJS, then starts the dashboard. Its messages come in both languages;
        the script picks the one of the Teams client (the request's language until it knows)."""
        mode = {"/configure": "configure", "/consent": "consent", "/end": "consent-end"}.get(
            request.path[request.path.rfind("/"):], "tab")
        lang = _request_locale(request)
        strings = {code: {"title": translate(code, "dashboard.ui.title"),
                          **{key[len("dashboard.teams."):]: translate(code, key) for key in catalog(code)
                             if key.startswith("dashboard.teams.")}} for code in ("ja", "en")}
        data = json.dumps({"lang": lang, "strings": strings}, ensure_ascii=False).replace("<", "\\u003c")
        title = translate(lang, "dashboard.ui.title")
        first = {"configure": "configure.text", "tab": "loading"}.get(mode, "consent_opening")
        body = (f'<header><h1 id="teams-title">{_escape(title)}</h1><span class="who" id="teams-who"></span></header>'
                f'<main id="app"><p class="note" id="teams-status" role="status">{_escape(strings[lang][first])}</p>'
                f'</main><script type="application/json" id="kizuna-teams">{data}</script>')
        scripts = ("MicrosoftTeams.min.js", "echarts.min.js", "dashboard.js", "teams.js") if mode == "tab" else (
            "MicrosoftTeams.min.js", "teams.js")
        return _page(lang, title, body, scripts=scripts, teams=mode)

    async def figure(self, request: web.Request) -> web.StreamResponse:
        viewer = await self._viewer(request)
        if viewer is None:
            return _secure(web.json_response({"error": "not signed in"}, status=401))
        compute = FIGURES.get(request.match_info["figure"])
        if compute is None:
            return _secure(web.json_response({"error": "no such figure"}, status=404))
        query = request.query
        try:
            window = insights.resolve_window(query.get("period", "month"), viewer.workspace.timezone,
                                             first=query.get("from"), last=query.get("to"))
            scope = insights.Scope(viewer, window, await insights.department_id(viewer, query.get("department")))
        except KizunaError as error:
            return _secure(web.json_response({"error": error.localized(viewer.locale)}, status=400))
        result = await compute(scope)
        if result is None:  # bridges for a member, the leaderboard where it is off
            return _secure(web.json_response({"error": "not available"}, status=403))
        result = {"from": window.first_day.isoformat(), "to": window.last_day.isoformat(), **result}
        if query.get("format") == "csv":
            return _secure(_csv(request.match_info["figure"], result, viewer.locale))
        return _secure(web.json_response(result))

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        kind = STATIC_FILES.get(name)
        if kind is None:
            raise web.HTTPNotFound()
        response = web.Response(body=(STATIC / name).read_bytes(), content_type=kind, charset="utf-8")
        response.headers["Cache-Control"] = "public, max-age=3600"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _csv(figure: str, result: dict[str, Any], lang: str) -> web.Response:
    """A figure's table as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read Japanese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    if figure == "heatmap":
        names = {d["id"]: d["name"] or translate(lang, "dashboard.ui.no_department") for d in result["departments"]}
        writer.writerow(["from", "to", "count", "share"])
        for cell in result["cells"]:
            writer.writerow([names.get(cell["from"], ""), names.get(cell["to"], ""), _cell(cell["count"]),
                             _cell(cell["share"])])
    elif figure == "network":
        names = {n["id"]: n["name"] for n in result["nodes"]}
        writer.writerow(["department_a", "department_b", "count"])
        for edge in result["edges"]:
            writer.writerow([names.get(edge["a"], ""), names.get(edge["b"], ""), edge["count"]])
    elif figure == "trends":
        writer.writerow(["week", "thanks", "senders", "cross_share"])
        for week in result["weeks"]:
            writer.writerow([week["week"], _cell(week["thanks"]), _cell(week["senders"]), _cell(week["cross_share"])])
    elif figure == "values":
        values = {v["id"]: v["name"] for v in result["values"]}
        departments = {d["id"]: d["name"] or translate(lang, "dashboard.ui.no_department")
                       for d in result["departments"]}
        writer.writerow(["value", "department", "count"])
        for cell in result["cells"]:
            writer.writerow([values.get(cell["value"], ""), departments.get(cell["department"], ""),
                             _cell(cell["count"])])
    elif figure == "meetings":
        writer.writerow(["meeting", "departments", "began", "thanks_before", "thanks_after", "occurrence", "yes"])
        for meeting in result["meetings"]:
            base = [meeting["title"], " / ".join(meeting["departments"]), meeting["began"], _cell(meeting["before"]),
                    _cell(meeting["after"])]
            for row in meeting["attendance"] or [{"occurrence": "", "yes": ""}]:
                writer.writerow([*base, row["occurrence"], row["yes"]])
    elif figure == "mixers":
        writer.writerow(["mixer", "first_round", "rounds", "people", "department_pairs", "met", "thanks_before",
                         "thanks_after"])
        for mixer in result["mixers"]:
            writer.writerow([mixer["name"], mixer["began"], mixer["rounds"], mixer["people"], mixer["pairs"],
                             mixer["met"], _cell(mixer["before"]), _cell(mixer["after"])])
    elif figure == "projects":
        writer.writerow(["project", "name", "status", "departments", "start", "end", "closed", "thanks",
                         "cross_department", "thanks_before", "thanks_after"])
        for project in result["projects"]:
            writer.writerow([project["key"], project["name"], project["status"], " / ".join(project["departments"]),
                             project["start"], _cell(project["end"]), _cell(project["closed"]),
                             _cell(project["thanks"]), _cell(project["cross"]), _cell(project["before"]),
                             _cell(project["after"])])
    elif figure == "leaderboard":
        writer.writerow(["rank", "name", "thanks"])
        for entry in result["entries"]:
            writer.writerow([entry["rank"], entry["name"], entry["count"]])
    elif figure == "bridges":
        writer.writerow(["name", "departments", "thanks"])
        for person in result["people"]:
            writer.writerow([person["name"], person["departments"], person["thanks"]])
    else:
        writer.writerow(["figure", "value", "previous", "change"])
        for name in ("thanks", "senders", "receivers", "cross_share"):
            item = result[name]
            writer.writerow([name, _cell(item["value"]), _cell(item["previous"]), _cell(item["change"])])
    response = web.Response(body=("\ufeff" + out.getvalue()).encode(), content_type="text/csv", charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="kizuna-{figure}-{result["from"]}.csv"'
    return response


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
