"""The dashboard's Teams tab page in headless Chromium, against a real `kizuna serve` with the Teams adapter on.

The Teams client is the edge: a stub `microsoftTeams` (TeamsJS's API: app.initialize/getContext,
authentication.getAuthToken, pages.config) is injected by Playwright before the page's scripts run, and
the vendored TeamsJS cannot replace it. Entra ID is out of reach here, so the successful sign-in answers
`POST /dashboard/teams/session` with a real session token of the seeded member (from a redeemed sign-in
link) — how the server checks Entra tokens is tests/teams/test_tab.py's job; this file checks what the page
does with the answers: a bearer-signed dashboard in the Teams client's language, and a message, never a blank
page, when anything fails. Screenshots go to test-artifacts/dashboard/.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests import chromium

ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
KIZUNA = [sys.executable, "-m", "kizuna.cli"]
MONTH = "2026-11"
APP_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "aaaaaaaa-0000-4000-8000-000000000001"

# TeamsJS as the Teams client would answer it; `window.__teams` holds what the page asked of it.
STUB = """
(() => {
  const options = window.__stubOptions;
  const seen = window.__teams = { calls: [], config: null, valid: null, save: null, authenticate: null,
                                  notified: null };
  const errors = options.errors || (options.error ? [options.error] : []);
  const stub = {
    app: {
      initialize: () => { seen.calls.push("initialize"); return Promise.resolve(); },
      getContext: () => Promise.resolve({ app: { locale: options.locale },
                                          user: { tenant: { id: options.tenant }, loginHint: options.loginHint } }),
    },
    authentication: {
      getAuthToken: () => {
        seen.calls.push("getAuthToken");
        const error = options.error ? options.error : errors.shift();
        return error ? Promise.reject(new Error(error)) : Promise.resolve(options.token);
      },
      authenticate: (request) => {
        seen.calls.push("authenticate");
        seen.authenticate = request;
        return options.consent === "ok" ? Promise.resolve("consented") : Promise.reject(new Error(options.consent));
      },
      notifySuccess: (result) => { seen.notified = ["success", result]; },
      notifyFailure: (reason) => { seen.notified = ["failure", reason]; },
    },
    pages: { config: {
      registerOnSaveHandler: (handler) => { seen.save = handler; },
      setConfig: (config) => { seen.config = config; return Promise.resolve(); },
      setValidityState: (valid) => { seen.valid = valid; },
    } },
  };
  Object.defineProperty(window, "microsoftTeams", { get: () => stub, set: () => {}, configurable: false });
})();
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("teams-tab")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "KIZUNA_DATABASE_URL": f"sqlite://{folder}/k.sqlite3", "KIZUNA_PORT": str(port),
           "KIZUNA_HOST": "127.0.0.1", "KIZUNA_ADAPTERS": "console,teams", "PYTHONPATH": str(ROOT),
           "MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": "secret", "MICROSOFT_APP_TENANT_ID": TENANT}
    subprocess.run([sys.executable, "-m", "tests.browser.seed", env["KIZUNA_DATABASE_URL"]], env=env, check=True,
                   cwd=folder)
    process = subprocess.Popen([*KIZUNA, "--env-file", "/dev/null", "serve"], env=env, cwd=folder)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)

        def session(user: str) -> str:
            """A real dashboard session token for ``user`` of the seeded workspace (a link, redeemed)."""
            out = subprocess.run([*KIZUNA, "--env-file", "/dev/null", "dashboard", "link", "--workspace", "acme",
                                  "--user", user], env=env, cwd=folder, check=True, capture_output=True, text=True)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                connection.request("POST", urlsplit(out.stdout.strip()).path)
                response = connection.getresponse()
                response.read()
                assert response.status == 303
                cookie = response.getheader("Set-Cookie") or ""
            finally:
                connection.close()
            return cookie.split("=", 1)[1].split(";", 1)[0]

        yield {"base": base, "session": session}
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium.launched(chromium.missing(), "browser tests")


def _tab(browser: Any, **options: Any) -> Any:
    """A page whose `microsoftTeams` is the stub (``locale``, and ``token`` or ``error`` for getAuthToken)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Tokyo")
    context.add_init_script(f"window.__stubOptions = {json.dumps(options)};" + STUB)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_the_tab_signs_in_and_draws_the_dashboard_with_a_bearer_token_in_japanese(server, browser):
    page = _tab(browser, locale="ja-jp", token="entra-token-from-teams")
    posted: list[dict[str, Any]] = []
    token = server["session"]("root")

    def answer(route: Any) -> None:
        posted.append(json.loads(route.request.post_data))
        route.fulfill(status=200, content_type="application/json",
                      body=json.dumps({"token": token, "expires": "2099-01-01T00:00:00+00:00", "locale": "ja"}))

    page.route("**/dashboard/teams/session", answer)
    page.goto(server["base"] + "/dashboard/teams")
    page.wait_for_selector("body[data-ready='1'] #heatmap-table")
    assert posted == [{"token": "entra-token-from-teams", "locale": "ja"}]
    assert page.evaluate("window.__teams.calls") == ["initialize", "getAuthToken"]
    assert not page.context.cookies()  # no cookie: every API call was signed by the bearer token
    page.select_option("#period", "custom")
    page.fill("#from", f"{MONTH}-01")
    page.fill("#to", f"{MONTH}-30")
    page.locator("button.primary").click()
    page.wait_for_selector("body[data-ready='1'] #heatmap .chart[data-drawn='1'] svg")
    rows = page.locator("#heatmap-table tbody tr")
    cells = {rows.nth(i).locator("th").inner_text(): [td.inner_text() for td in rows.nth(i).locator("td").all()]
             for i in range(rows.count())}
    assert cells["Sales"] == ["10 (90.9%)", "1 (9.1%)"]
    assert page.locator("html").get_attribute("lang") == "ja"
    assert "部署間の感謝" in page.locator("#heatmap h2").inner_text()
    assert "Root Admin" in page.locator("#teams-who").inner_text()
    with page.expect_download() as download:  # a CSV link carries the bearer token too
        page.locator("#heatmap a.csv").click()
    assert "Sales" in Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert page.errors == []
    _shot(page, "teams-tab-ja")


def test_a_refused_token_is_a_message_in_the_clients_language(server, browser):
    page = _tab(browser, locale="ja-jp", token="not-a-jwt")  # the real server refuses it (401)
    page.goto(server["base"] + "/dashboard/teams")
    page.wait_for_selector("body[data-failed='refused']")
    status = page.locator("#teams-status")
    assert "Teams のサインインを確認できなかった" in status.inner_text()
    assert status.get_attribute("role") == "alert"
    assert page.locator("#heatmap").count() == 0
    assert page.locator("#teams-title").inner_text() == "Kizuna インサイト"
    _shot(page, "teams-refused-ja")


def test_consent_needed_is_explained_in_english(server, browser):
    page = _tab(browser, locale="en-us", error="resourceRequiresConsent", consent="CancelledByUser")
    page.goto(server["base"] + "/dashboard/teams")
    page.wait_for_selector("body[data-failed='consent']")
    assert "needs your consent" in page.locator("#teams-status").inner_text()
    _shot(page, "teams-consent-en")
    page.locator("#teams-consent").click()  # the person closes the consent window: asked again, nothing else
    page.wait_for_selector("body[data-failed='consent'] #teams-consent:not([disabled])")
    assert page.evaluate("window.__teams.calls") == ["initialize", "getAuthToken", "authenticate"]
    assert page.errors == []


def test_after_consent_in_the_window_the_tab_signs_in(server, browser):
    page = _tab(browser, locale="ja-jp", errors=["resourceRequiresConsent"], consent="ok", token="entra-token")
    token = server["session"]("root")
    page.route("**/dashboard/teams/session", lambda route: route.fulfill(
        status=200, content_type="application/json",
        body=json.dumps({"token": token, "expires": "2099-01-01T00:00:00+00:00", "locale": "ja"})))
    page.goto(server["base"] + "/dashboard/teams")
    page.wait_for_selector("body[data-failed='consent']")
    assert "同意が必要" in page.locator("#teams-status").inner_text()
    page.locator("#teams-consent").click()
    page.wait_for_selector("body[data-ready='1'] #heatmap-table")
    assert page.evaluate("window.__teams.calls") == ["initialize", "getAuthToken", "authenticate", "getAuthToken"]
    assert page.evaluate("window.__teams.authenticate") == {
        "url": server["base"] + "/dashboard/teams/consent", "width": 600, "height": 535}
    assert page.locator("#teams-consent").count() == 0
    assert page.errors == []


def test_the_consent_window_asks_entra_and_reports_back_to_teams(server, browser):
    page = _tab(browser, locale="en-us", tenant=TENANT, loginHint="root@contoso.example")
    asked: list[str] = []

    def entra(route: Any) -> None:  # Entra's authorize page, out of reach here: what the window asked is enough
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>Entra</p>")

    page.route("https://login.microsoftonline.com/**", entra)
    page.goto(server["base"] + "/dashboard/teams/consent")
    page.wait_for_url("https://login.microsoftonline.com/**")  # no script: the consent page's CSP forbids eval
    [url] = asked
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    host = urlsplit(server["base"]).hostname
    assert f"{parts.netloc}{parts.path}" == f"login.microsoftonline.com/{TENANT}/oauth2/v2.0/authorize"
    assert query["client_id"] == APP_ID
    assert query["scope"] == f"api://{host}/{APP_ID}/access_as_user"
    assert query["redirect_uri"] == server["base"] + "/dashboard/teams/consent/end"
    assert (query["response_type"], query["code_challenge_method"]) == ("code", "S256")
    assert len(query["code_challenge"]) == 43 and len(query["state"]) == 32
    assert query["login_hint"] == "root@contoso.example"
    end = server["base"] + "/dashboard/teams/consent/end"
    # Entra sends the person back with a code and the state: Teams hears "success".
    page.goto(f"{end}?code=made-up-code&state={query['state']}")
    page.wait_for_selector("body[data-ready='1']")
    assert page.evaluate("window.__teams.notified") == ["success", "consented"]
    assert "close this window" in page.locator("#teams-status").inner_text()
    _shot(page, "teams-consent-done-en")
    # A state that is not the one this window sent (or a reused one) is a failure, as is Entra's refusal.
    page.goto(f"{end}?code=made-up-code&state={query['state']}")
    page.wait_for_selector("body[data-failed='consent_failed']")
    assert page.evaluate("window.__teams.notified") == ["failure", "state_mismatch"]
    page.goto(f"{end}?error=access_denied&error_description=The+user+declined")
    page.wait_for_selector("body[data-failed='consent_failed']")
    assert page.evaluate("window.__teams.notified") == ["failure", "access_denied"]
    assert page.errors == []


def test_outside_teams_the_page_says_where_it_belongs(server, browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto(server["base"] + "/dashboard/teams")  # the real TeamsJS, with no Teams client around it
    page.wait_for_selector("body[data-failed='outside']", timeout=15000)
    assert "opens inside Microsoft Teams" in page.locator("#teams-status").inner_text()


def test_the_channel_tab_configuration_saves_the_dashboard_page(server, browser):
    page = _tab(browser, locale="ja-jp", token="unused")
    page.goto(server["base"] + "/dashboard/teams/configure")
    page.wait_for_selector("body[data-ready='1']")
    assert page.evaluate("window.__teams.valid") is True
    page.evaluate("new Promise((done) => window.__teams.save({ notifySuccess: done, notifyFailure: done }))")
    config = page.evaluate("window.__teams.config")
    assert config["contentUrl"] == server["base"] + "/dashboard/teams"
    assert config["websiteUrl"] == server["base"] + "/dashboard"
    assert config["suggestedDisplayName"] == "インサイト"
    assert "getAuthToken" not in page.evaluate("window.__teams.calls")
    _shot(page, "teams-configure-ja")
