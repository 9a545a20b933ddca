"""The dashboard over HTTP: one-time links, sessions, roles, the privacy threshold and workspace isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from core.app import commands as c
from core.app import outcomes as o
from core.app.execute import Context, execute
from core.config import Settings
from core.dashboard.models import DashboardLink, DashboardSession
from core.models import Workspace
from kizuna.server import build_app
from tests.dashboard.kit import NOW, Company, company, sign_in

PERIOD = "period=custom&from=2026-11-01&to=2026-11-30"


@pytest_asyncio.fixture
async def acme(db) -> Company:
    return await company()


@pytest_asyncio.fixture
async def client(db) -> AsyncIterator[TestClient]:
    settings = Settings(public_url="http://127.0.0.1:3978")
    app = build_app(settings, adapters=[], manage_database=False, run_workers=False)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def link_for(company: Company, who: str, locale: str = "en", now=None) -> str:
    context = Context(company.workspace, company.people[who], locale, "console", public_url="http://127.0.0.1:3978",
                      now=now)
    outcome = await execute(context, c.OpenDashboard())
    assert isinstance(outcome, o.DashboardLinkIssued)
    return outcome.url


async def test_a_link_is_stored_hashed_and_signs_in_once(acme, client):
    url = await link_for(acme, "s1")
    token = url.rsplit("/", 1)[1]
    assert not await DashboardLink.filter(token_hash=token).exists()  # only the hash is stored
    # Link previews and scanners GET it first: that does not use it up.
    for _ in range(3):
        assert (await client.get(f"/dashboard/signin/{token}")).status == 200
    cookie = await sign_in(client, url)
    assert await DashboardSession.filter(member_id=acme.people["s1"].id).count() == 1
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=28800" in cookie
    assert "Secure" not in cookie
    page = await client.get("/dashboard")
    assert page.status == 200 and "Sales person 1" in await page.text()
    # The same link again: a friendly page, and no second session.
    client.session.cookie_jar.clear()
    again = await client.post(f"/dashboard/signin/{token}", allow_redirects=False)
    assert again.status == 410 and "already been used" in await again.text()
    assert "kizuna_dashboard" not in again.cookies
    assert await DashboardSession.filter(member_id=acme.people["s1"].id).count() == 1


async def test_an_expired_link_gives_no_session_in_the_persons_language(acme, client):
    url = await link_for(acme, "s1", locale="ja", now=NOW - timedelta(minutes=11))
    path = url.split("3978", 1)[1]
    shown = await client.get(path)
    assert shown.status == 410 and "期限切れ" in await shown.text()
    posted = await client.post(path, allow_redirects=False)
    assert posted.status == 410 and "kizuna_dashboard" not in posted.cookies
    assert await DashboardSession.all().count() == 0
    assert (await client.get("/dashboard/api/overview")).status == 401


async def test_a_cross_site_post_does_not_sign_in(acme, client):
    url = await link_for(acme, "s1")
    path = url.split("3978", 1)[1]
    posted = await client.post(path, headers={"Origin": "https://evil.example"}, allow_redirects=False)
    assert posted.status == 403 and await DashboardSession.all().count() == 0
    assert (await client.get(path)).status == 200  # still usable by its owner


async def test_a_secure_cookie_when_the_public_url_is_https(acme, db):
    app = build_app(Settings(public_url="https://kizuna.example.com"), adapters=[], manage_database=False,
                    run_workers=False)
    async with TestClient(TestServer(app)) as https_client:
        url = await link_for(acme, "s1")
        posted = await https_client.post(url.split("3978", 1)[1], allow_redirects=False)
        assert posted.status == 303 and "Secure" in posted.headers["Set-Cookie"]


async def test_heatmap_counts_for_an_admin(acme, client):
    await sign_in(client, await link_for(acme, "root"))
    data = await (await client.get(f"/dashboard/api/heatmap?{PERIOD}")).json()
    sales, dev = acme.departments["Sales"].id, acme.departments["Dev"].id
    cells = {(cell["from"], cell["to"]): cell for cell in data["cells"]}
    assert cells[(sales, dev)]["count"] == 10 and cells[(sales, sales)]["count"] == 1
    assert cells[(dev, sales)]["count"] == 1 and cells[(dev, sales)]["share"] == 1.0
    assert cells[(sales, dev)]["share"] == round(10 / 11, 4)
    bridges = await (await client.get(f"/dashboard/api/bridges?{PERIOD}")).json()
    assert {p["name"] for p in bridges["people"]} >= {"Sales person 1", "Dev person 1"}


async def test_a_member_sees_no_people_and_no_number_of_fewer_than_three(acme, client):
    await sign_in(client, await link_for(acme, "s2"))
    data = await (await client.get(f"/dashboard/api/heatmap?{PERIOD}")).json()
    sales, dev = acme.departments["Sales"].id, acme.departments["Dev"].id
    cells = {(cell["from"], cell["to"]): cell for cell in data["cells"]}
    assert cells[(sales, dev)]["count"] == 10  # three senders, four recipients
    assert cells[(sales, sales)]["count"] is None and cells[(dev, sales)]["count"] is None  # one person each
    assert (await client.get(f"/dashboard/api/bridges?{PERIOD}")).status == 403
    overview = await (await client.get(f"/dashboard/api/overview?{PERIOD}")).json()
    assert overview["thanks"]["value"] == 6 and overview["you"] == {"sent": 2, "received": 0}
    # Raised to 6, the threshold hides the totals too (five people sent: s1..s4 and d1).
    await Workspace.filter(id=acme.workspace.id).update(privacy_threshold=6)
    overview = await (await client.get(f"/dashboard/api/overview?{PERIOD}")).json()
    assert overview["thanks"]["value"] is None and overview["senders"]["value"] is None
    csv = await (await client.get(f"/dashboard/api/heatmap?{PERIOD}&format=csv")).text()
    assert "person" not in csv and "Sales,Dev,," in csv


async def test_the_overview_shows_no_share_change_against_a_period_with_no_thanks(acme, client):
    await sign_in(client, await link_for(acme, "root"))
    overview = await (await client.get(f"/dashboard/api/overview?{PERIOD}")).json()
    # October had no thanks: counts change from zero, but a share of nothing is no baseline.
    assert overview["thanks"] == {"value": 6, "previous": 0, "change": 6}
    assert overview["cross_share"]["value"] == round(11 / 12, 4)
    assert overview["cross_share"]["previous"] is None and overview["cross_share"]["change"] is None
    december = await (await client.get("/dashboard/api/overview?period=custom&from=2026-12-01&to=2026-12-31")).json()
    assert december["cross_share"] == {"value": 0.0, "previous": round(11 / 12, 4), "change": round(-11 / 12, 4)}


async def test_a_session_never_reads_another_workspace(acme, client):
    other = await company("globex")
    await sign_in(client, await link_for(other, "root"))
    data = await (await client.get(f"/dashboard/api/heatmap?{PERIOD}")).json()
    assert {d["id"] for d in data["departments"]} == {d.id for d in other.departments.values()}
    # Another workspace's department as a filter is refused, not read.
    refused = await client.get(f"/dashboard/api/heatmap?{PERIOD}&department={acme.departments['Sales'].id}")
    assert refused.status == 400
    mine = await client.get(f"/dashboard/api/heatmap?{PERIOD}&department={other.departments['Sales'].id}")
    assert mine.status == 200


async def test_a_bad_period_is_a_clear_error(acme, client):
    await sign_in(client, await link_for(acme, "s1"))
    bad = await client.get("/dashboard/api/overview?period=custom&from=2026-12-01&to=2026-01-01")
    assert bad.status == 400 and "cannot show" in (await bad.json())["error"]
    assert (await client.get("/dashboard/api/overview?period=decade")).status == 400
    assert (await client.get("/dashboard/api/nothing")).status == 404


async def test_sign_out_needs_the_pages_csrf_token(acme, client):
    await sign_in(client, await link_for(acme, "s1"))
    assert (await client.post("/dashboard/signout", data={"csrf": "wrong"})).status == 403
    session = await DashboardSession.get(member_id=acme.people["s1"].id)
    assert (await client.post("/dashboard/signout", data={"csrf": session.csrf_token})).status == 200
    assert (await client.get("/dashboard")).status == 401


async def test_values_meetings_and_the_leaderboard(acme, client):
    await sign_in(client, await link_for(acme, "root"))
    values = await (await client.get(f"/dashboard/api/values?{PERIOD}")).json()
    teamwork = next(v["id"] for v in values["values"] if v["key"] == "teamwork")
    assert values["cells"] == [{"value": teamwork, "department": acme.departments["Sales"].id, "count": 1}]
    meetings = await (await client.get(f"/dashboard/api/meetings?{PERIOD}")).json()
    [sync] = meetings["meetings"]
    assert (sync["before"], sync["after"], sync["began"]) == (10, 1, "2026-11-09")
    assert sync["attendance"] == [{"occurrence": "2026-11-09", "yes": 3}]
    board = await (await client.get(f"/dashboard/api/leaderboard?{PERIOD}")).json()
    assert board["entries"][0] == {"rank": 1, "name": "Dev person 1", "count": 3}
    csv = await (await client.get(f"/dashboard/api/meetings?{PERIOD}&format=csv")).text()
    assert "Sales × Dev sync,Sales / Dev,2026-11-09,10,1,2026-11-09,3" in csv
    await Workspace.filter(id=acme.workspace.id).update(leaderboard_enabled=False)
    assert (await client.get(f"/dashboard/api/leaderboard?{PERIOD}")).status == 403


async def test_a_member_sees_a_value_or_meeting_only_when_enough_people_made_it(acme, client):
    await sign_in(client, await link_for(acme, "d2"))
    values = await (await client.get(f"/dashboard/api/values?{PERIOD}")).json()
    assert [c["count"] for c in values["cells"]] == [None]  # one person tagged it
    [sync] = (await (await client.get(f"/dashboard/api/meetings?{PERIOD}")).json())["meetings"]
    assert (sync["before"], sync["after"]) == (10, None)  # four senders before, one after


async def test_the_mixer_panel_compares_thanks_between_the_departments_it_mixed(acme, client):
    from core.mixers.models import Mixer, MixerGroup, MixerGroupMember, MixerRound

    # A shuffle lunch put s1 (Sales) and d1 (Dev) at one table on 9 November, and s3 alone with s4 (Sales only).
    mixer = await Mixer.create(workspace=acme.workspace, name="Lunch", start_local="2026-11-09T12:00",
                               timezone="Asia/Tokyo", channel="console")
    first = await MixerRound.create(mixer=mixer, occurrence="2026-11-09T12:00", seed="1",
                                    starts_at=NOW - timedelta(days=9, hours=6))
    mixed, alone = await MixerGroup.create(round=first, number=1), await MixerGroup.create(round=first, number=2)
    for group, who, met in ((mixed, "s1", True), (mixed, "d1", True), (alone, "s3", None), (alone, "s4", False)):
        await MixerGroupMember.create(group=group, member=acme.people[who], met=met)

    await sign_in(client, await link_for(acme, "root"))
    [lunch] = (await (await client.get(f"/dashboard/api/mixers?{PERIOD}")).json())["mixers"]
    # Sales ⇄ Dev: 9 + 1 thanks before (four senders), 1 after (one sender); thanks inside Sales do not count.
    assert {k: lunch[k] for k in ("name", "rounds", "people", "pairs", "met", "before", "after", "began")} == {
        "name": "Lunch", "rounds": 1, "people": 4, "pairs": 1, "met": 2, "before": 10, "after": 1,
        "began": "2026-11-09"}
    csv = await (await client.get(f"/dashboard/api/mixers?{PERIOD}&format=csv")).text()
    assert "Lunch,2026-11-09,1,4,1,2,10,1" in csv

    await sign_in(client, await link_for(acme, "d2"))
    [lunch] = (await (await client.get(f"/dashboard/api/mixers?{PERIOD}")).json())["mixers"]
    assert (lunch["before"], lunch["after"]) == (10, None)  # one sender after: fewer than three


async def test_the_projects_panel_compares_thanks_between_a_closed_project_s_departments(acme, client):
    await sign_in(client, await link_for(acme, "root"))
    result = await (await client.get(f"/dashboard/api/projects?{PERIOD}")).json()
    launch, kaizen = result["projects"]
    # Four thanks within the project, all across departments; Sales ⇄ Dev: 9 + 1 before the close (four
    # senders), 1 after (tagged or not, it counts: did they keep thanking each other?).
    assert launch == {"key": "launch", "name": "Launch 2027", "status": "closed", "departments": ["Sales", "Dev"],
                      "start": "2026-10-01", "end": "2026-11-08", "closed": "2026-11-09", "thanks": 4, "cross": 4,
                      "before": 10, "after": 1,
                      # The four weeks after the close are over only from 7 December (the real clock).
                      "so_far": datetime.now(UTC) < datetime(2026, 12, 7, 1, 0, tzinfo=UTC)}
    assert {k: kaizen[k] for k in ("key", "status", "closed", "thanks", "cross", "before", "after")} == {
        "key": "kaizen", "status": "open", "closed": None, "thanks": 0, "cross": 0, "before": None, "after": None}
    assert result["weeks"] == 4
    csv = await (await client.get(f"/dashboard/api/projects?{PERIOD}&format=csv")).text()
    assert csv.splitlines()[0] == ("\ufeffproject,name,status,departments,start,end,closed,thanks,cross_department,"
                                   "thanks_before,thanks_after")
    assert "launch,Launch 2027,closed,Sales / Dev,2026-10-01,2026-11-08,2026-11-09,4,4,10,1" in csv
    assert "kaizen,カイゼン,open,Sales,2026-11-01,,,0,0,," in csv
    # The department filter keeps the projects that involve it.
    dev = acme.departments["Dev"].id
    only = await (await client.get(f"/dashboard/api/projects?{PERIOD}&department={dev}")).json()
    assert [p["key"] for p in only["projects"]] == ["launch"]


async def test_a_member_sees_a_project_s_numbers_only_when_enough_people_made_them(acme, client):
    await Workspace.filter(id=acme.workspace.id).update(privacy_threshold=5)
    await sign_in(client, await link_for(acme, "d2"))
    [launch, _] = (await (await client.get(f"/dashboard/api/projects?{PERIOD}")).json())["projects"]
    # Four senders inside the project and before the close, one after: all fewer than five.
    assert (launch["thanks"], launch["cross"], launch["before"], launch["after"]) == (None, None, None, None)
    await Workspace.filter(id=acme.workspace.id).update(privacy_threshold=3)
    await sign_in(client, await link_for(acme, "d2"))
    [launch, _] = (await (await client.get(f"/dashboard/api/projects?{PERIOD}")).json())["projects"]
    assert (launch["thanks"], launch["cross"], launch["before"], launch["after"]) == (4, 4, 10, None)
