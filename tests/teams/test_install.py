"""Installing the app: Teams announces an install twice (``conversationUpdate`` and ``installationUpdate``);
the conversation is welcomed once, across processes and restarts, and again after a removal."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from adapters.teams.botframework import testing as t
from adapters.teams.botframework.adapter import TeamsAdapter
from adapters.teams.botframework.testing import ALICE, BOB, Failure
from core.models import Member, Welcome
from tests.teams.cards import body_texts as texts
from tests.teams.cards import no_sleep_policy

TEAM = "19:team-general@thread.tacv2"
OTHER_TEAM = "19:other-general@thread.tacv2"


async def post(client, activity):
    response = await client.post("/api/messages", json=activity)
    assert response.status in (200, 201), await response.text()


def welcomes(connector, conversation=TEAM):
    return [a for a in connector.activities() if a.conversation_id == conversation]


async def test_an_install_is_welcomed_once_whichever_of_its_two_events_comes_first(teams, connector, check_card):
    client, _ = teams
    await post(client, t.installed(connector.url, ALICE, conversation=TEAM))
    await post(client, t.installation_update(connector.url, ALICE, "add", conversation=TEAM))
    [welcome] = welcomes(connector)
    assert any("you are an admin" in x for x in texts(check_card(welcome.card())))
    assert (await Member.get(platform_user_id=ALICE.id)).is_admin

    # The other order, in another team installed by someone else: one welcome there too.
    await post(client, t.installation_update(connector.url, BOB, "add", conversation=OTHER_TEAM))
    await post(client, t.installed(connector.url, BOB, conversation=OTHER_TEAM))
    [welcome] = welcomes(connector, OTHER_TEAM)
    assert any("Mention me" in x for x in texts(check_card(welcome.card())))
    assert not (await Member.get(platform_user_id=BOB.id)).is_admin


async def test_two_install_events_at_the_same_moment_welcome_once(teams, connector, check_card):
    client, _ = teams
    await asyncio.gather(post(client, t.installed(connector.url, ALICE, conversation=TEAM)),
                         post(client, t.installation_update(connector.url, ALICE, "add", conversation=TEAM)))
    [welcome] = welcomes(connector)
    # Whichever event welcomed, it is the one that made the installer an admin, and says so.
    assert any("you are an admin" in x for x in texts(check_card(welcome.card())))


async def test_the_welcome_is_remembered_by_a_restarted_process(teams, settings, make_client, connector):
    client, _ = teams
    await post(client, t.installed(connector.url, ALICE, conversation=TEAM))
    assert len(welcomes(connector)) == 1
    # A new adapter and app on the same database: another process, or this one after a restart.
    restarted = await make_client(TeamsAdapter(replace(settings), retry=no_sleep_policy()))
    await post(restarted, t.installation_update(connector.url, ALICE, "add", conversation=TEAM))
    assert len(welcomes(connector)) == 1
    assert await Welcome.filter(conversation=TEAM).count() == 1


async def test_a_reinstall_after_a_removal_is_welcomed_again(teams, connector, check_card):
    client, _ = teams
    await post(client, t.installed(connector.url, ALICE, conversation=TEAM))
    await post(client, t.installation_update(connector.url, ALICE, "add", conversation=TEAM))
    await post(client, t.installation_update(connector.url, ALICE, "remove", conversation=TEAM))
    await post(client, t.uninstalled(connector.url, ALICE, conversation=TEAM))
    assert len(welcomes(connector)) == 1
    assert not await Welcome.exists()

    await post(client, t.installation_update(connector.url, ALICE, "add", conversation=TEAM))
    await post(client, t.installed(connector.url, ALICE, conversation=TEAM))
    _first, second = welcomes(connector)
    # Alice is already the admin: the second welcome makes nobody one.
    assert any("Mention me" in x for x in texts(check_card(second.card())))


async def test_removing_the_app_by_either_event_alone_lets_a_reinstall_welcome(teams, connector):
    client, _ = teams
    await post(client, t.installed(connector.url, ALICE, conversation=TEAM))
    for removal in (t.uninstalled, lambda url, who, **kw: t.installation_update(url, who, "remove", **kw)):
        connector.clear()
        await post(client, removal(connector.url, ALICE, conversation=TEAM))
        await post(client, t.installed(connector.url, ALICE, conversation=TEAM))
        assert len(welcomes(connector)) == 1


async def test_an_upgrade_neither_welcomes_nor_forgets_the_welcome(teams, connector):
    client, _ = teams
    await post(client, t.installed(connector.url, ALICE, conversation=TEAM))
    await post(client, t.installation_update(connector.url, ALICE, "remove-upgrade", conversation=TEAM))
    await post(client, t.installation_update(connector.url, ALICE, "add-upgrade", conversation=TEAM))
    await post(client, t.installation_update(connector.url, ALICE, "add", conversation=TEAM))
    assert len(welcomes(connector)) == 1
    # An install from before welcomes were remembered, upgraded: no welcome for an app in use.
    await post(client, t.installation_update(connector.url, BOB, "add-upgrade", conversation=OTHER_TEAM))
    assert welcomes(connector, OTHER_TEAM) == []


async def test_a_welcome_the_connector_refused_is_posted_by_the_installs_other_event(teams, connector, check_card):
    client, _ = teams
    connector.fail_next(Failure(403, body={"error": {"code": "BotNotInConversationRoster", "message": "not yet"}}))
    await post(client, t.installed(connector.url, ALICE, conversation=TEAM))
    await post(client, t.installation_update(connector.url, ALICE, "add", conversation=TEAM))
    _refused, posted = welcomes(connector)
    check_card(posted.card())
    assert await Welcome.filter(conversation=TEAM).count() == 1
    await post(client, t.installed(connector.url, ALICE, conversation=TEAM))
    assert len(welcomes(connector)) == 2


async def test_a_personal_install_is_welcomed_once_too(teams, connector):
    client, _ = teams
    chat = "a:1personal-chat-alice"
    await post(client, t.installed(connector.url, ALICE, conversation=chat, conversation_type="personal"))
    await post(client, t.installation_update(connector.url, ALICE, "add", conversation=chat,
                                             conversation_type="personal"))
    assert len(welcomes(connector, chat)) == 1
