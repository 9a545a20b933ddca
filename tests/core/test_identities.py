"""Members and addresses written together: ``ensure_members`` and ``store_addresses`` (one plan each; on
PostgreSQL one statement for the people and one for the addresses)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from core.errors import NameTooLong, UnknownMember
from core.models import Address, Department, Member, Workspace
from core.services import members as members_module
from core.services.addresses import AddressWrite, addresses_plan, store_addresses
from core.services.members import (
    Person,
    ensure_member,
    ensure_members,
    map_role_to_department,
    set_department,
    set_notifications,
)
from core.sql import Sql


async def _payloads(workspace: Workspace) -> dict[str, object]:
    return {a.key: a.payload for a in await Address.filter(workspace_id=workspace.id)}


async def test_new_people_are_created_together_in_the_order_asked(workspace):
    known = await ensure_member(workspace, "bob", display_name="Bob")
    found = await ensure_members(workspace, [
        Person("zed", "Zed", "ja-JP"), Person("bob"), Person("amy", None, "fr"), Person("zed", "Other name"),
        Person("28:bot", "Helper", is_bot=True)])
    assert [m.platform_user_id for m in found] == ["zed", "bob", "amy", "zed", "28:bot"]
    zed, bob, amy, zed_again, bot = found
    assert zed is zed_again and bob.id == known.id
    # Someone listed twice is described by their first listing; a missing name is their id.
    assert (zed.display_name, zed.locale, zed.is_bot) == ("Zed", "ja", False)
    assert (amy.display_name, amy.locale) == ("amy", None)
    assert (bot.display_name, bot.is_bot) == ("Helper", True)
    # What came back is what was stored, with the model's defaults.
    for member in (zed, amy, bot):
        row = await Member.get(id=member.id)
        assert (row.display_name, row.locale, row.is_bot, row.is_admin, row.platform_admin) == (
            member.display_name, member.locale, member.is_bot, False, False)
        assert (row.notifications_enabled, row.sent_count, row.received_count) == (True, 0, 0)
        assert row.created_at is not None and member.created_at == row.created_at
    assert await Member.filter(workspace_id=workspace.id).count() == 4


async def test_known_people_are_refreshed_only_where_the_platform_says_something_new(workspace, admin):
    sales = await map_role_to_department(workspace, admin, "role-sales", "Sales")
    await map_role_to_department(workspace, admin, "role-eng", "Engineering")
    bob = await ensure_member(workspace, "bob", display_name="Bob", locale="en")
    await Member.filter(id=bob.id).update(is_admin=True, sent_count=7)
    again, = await ensure_members(workspace, [Person("bob", None, "xx", role_ids=("role-none",))])
    assert (again.display_name, again.locale, again.department_id, again.is_admin, again.sent_count) == (
        "Bob", "en", None, True, 7)
    again, = await ensure_members(workspace, [Person("bob", "Robert", "ja", True, ("role-eng", "role-sales"))])
    # Two mapped roles: the department mapped first (lowest id) wins, as before.
    assert (again.display_name, again.locale, again.is_bot, again.department_id) == ("Robert", "ja", True, sales.id)
    stored = await Member.get(id=bob.id)
    assert (stored.display_name, stored.locale, stored.is_bot, stored.department_id, stored.sent_count) == (
        "Robert", "ja", True, sales.id, 7)


async def test_a_new_member_starts_in_the_department_of_their_role(workspace, admin):
    eng = await map_role_to_department(workspace, admin, "role-eng", "Engineering")
    dave, = await ensure_members(workspace, [Person("dave", "Dave", role_ids=("role-eng",))])
    assert dave.department_id == eng.id == (await Member.get(id=dave.id)).department_id


async def test_addresses_are_stored_with_the_members_they_name(workspace):
    def addresses(members):
        return [AddressWrite(f"member:{m.platform_user_id}", {"id": m.id, "name": m.display_name}) for m in members]

    amy, bob = await ensure_members(workspace, [Person("amy", "Amy"), Person("bob", "Bob")], addresses)
    assert await _payloads(workspace) == {"member:amy": {"id": amy.id, "name": "Amy"},
                                          "member:bob": {"id": bob.id, "name": "Bob"}}


def _broken(members):
    yield AddressWrite("member:amy", {"ok": True})
    raise RuntimeError("addresses could not be built")


async def test_a_failure_leaves_neither_members_nor_addresses(workspace):
    with pytest.raises(RuntimeError):
        await ensure_members(workspace, [Person("amy", "Amy")], _broken)
    assert not await Member.exists(platform_user_id="amy")
    assert await _payloads(workspace) == {}
    assert (await ensure_members(workspace, [Person("amy", "Amy")]))[0].display_name == "Amy"


async def test_addresses_made_from_what_the_event_does_not_say_are_stored_as_the_members_make_them(workspace):
    """On PostgreSQL the addresses are written with the people, made from the people as the event describes
    them, then made again from the members: what differs is written again, and a payload to keep
    (``replace=False``) is corrected only where the guess is what was stored."""
    await ensure_member(workspace, "bob", display_name="Bob")
    await store_addresses(workspace, [AddressWrite("chat:bob", {"name": "Bob", "real": True})])

    def addresses(members):
        writes = []
        for m in members:
            writes += [AddressWrite(f"member:{m.platform_user_id}", {"id": m.id}),  # replaced
                       AddressWrite(f"chat:{m.platform_user_id}", {"name": m.display_name}, replace=False)]
        return writes

    amy, bob = await ensure_members(workspace, [Person("amy"), Person("bob")], addresses)
    assert bob.display_name == "Bob"
    assert await _payloads(workspace) == {
        "member:amy": {"id": amy.id}, "member:bob": {"id": bob.id},
        "chat:amy": {"name": "amy"},  # as created: a new person without a name is named by their id
        "chat:bob": {"name": "Bob", "real": True},  # kept, as asked
    }
    await Address.filter(workspace_id=workspace.id, key="chat:bob").delete()
    await ensure_members(workspace, [Person("bob")], addresses)  # the guess names Bob "bob"; Bob is "Bob"
    assert (await _payloads(workspace))["chat:bob"] == {"name": "Bob"}


@pytest.mark.postgres_only
async def test_on_postgres_people_created_by_another_turn_meanwhile_are_read_back(workspace, monkeypatch):
    """The one-statement path found a person created after it began (its insert met theirs and did
    nothing): the plan reads them, refreshes them and stores the addresses."""
    theirs = await ensure_member(workspace, "amy", display_name="Amy")
    real = members_module.fetch

    async def as_if_amy_came_later(client, sql, arguments):
        rows = await real(client, sql, arguments)
        return [r for r in rows if r["platform_user_id"] != "amy"]

    monkeypatch.setattr(members_module, "fetch", as_if_amy_came_later)
    amy, bob = await ensure_members(workspace, [Person("amy", "Amy A."), Person("bob", "Bob")],
                                    [AddressWrite("channel:general", {"v": 1})])
    assert amy.id == theirs.id and amy.display_name == "Amy A." and bob.display_name == "Bob"
    assert await Member.filter(workspace_id=workspace.id).count() == 2
    assert await _payloads(workspace) == {"channel:general": {"v": 1}}


async def test_people_created_meanwhile_are_read_back_not_duplicated(workspace):
    """The plan read nobody, then someone else created Amy before its insert: it returns that row."""
    theirs = await ensure_member(workspace, "amy", display_name="Amy")
    plan = members_module._members_plan(workspace.id, [Person("amy", "Amy A.")], datetime.now(UTC), ())
    sql = Sql()
    next(plan)  # the first read …
    statement = plan.send([])  # … as if it had run before Amy existed
    try:
        while True:
            statement = plan.send(await sql.rows(*statement))
    except StopIteration as done:
        found = done.value
    assert found["amy"].id == theirs.id and found["amy"].display_name == "Amy A."
    assert await Member.filter(platform_user_id="amy").count() == 1
    assert (await Member.get(id=theirs.id)).display_name == "Amy A."


async def test_turns_meeting_the_same_new_people_at_once_agree_on_them(workspace):
    names = ["amy", "bob", "cat", "dan"]
    calls = [ensure_members(workspace, [Person(n, n.title()) for n in (names if i % 2 else names[::-1])],
                            [AddressWrite("channel:general", {"turn": i}, replace=False)])
             for i in range(12)]
    results = await asyncio.gather(*calls)
    ids = {m.platform_user_id: m.id for m in results[0]}
    assert all({m.platform_user_id: m.id for m in r} == ids for r in results)
    assert await Member.filter(workspace_id=workspace.id, platform_user_id__in=names).count() == 4
    assert len(await _payloads(workspace)) == 1


async def test_store_addresses_keeps_or_replaces_as_asked(workspace):
    await Address.create(workspace_id=workspace.id, key="kept", payload={"v": "old"})
    await Address.create(workspace_id=workspace.id, key="replaced", payload={"v": "old"})
    await Address.create(workspace_id=workspace.id, key="same", payload={"v": "same"})
    before = {a.key: a.updated_at for a in await Address.filter(workspace_id=workspace.id)}
    await asyncio.sleep(0.01)
    await store_addresses(workspace, [
        AddressWrite("kept", {"v": "new"}, replace=False), AddressWrite("replaced", {"v": "new"}),
        AddressWrite("same", {"v": "same"}), AddressWrite("new1", {"v": 1}),
        AddressWrite("new2", {"v": 2}, replace=False), AddressWrite("new1", {"v": "listed twice"})])
    assert await _payloads(workspace) == {"kept": {"v": "old"}, "replaced": {"v": "new"}, "same": {"v": "same"},
                                          "new1": {"v": 1}, "new2": {"v": 2}}
    after = {a.key: a.updated_at for a in await Address.filter(workspace_id=workspace.id)}
    # An unchanged payload is not rewritten; a replaced one is stamped.
    assert after["same"] == before["same"] and after["kept"] == before["kept"]
    assert after["replaced"] > before["replaced"]


async def test_addresses_of_another_workspace_are_left_alone(workspace):
    other = await Workspace.create(platform="console", external_id="other")
    await store_addresses(other, [AddressWrite("member:amy", {"v": "other"})])
    await store_addresses(workspace, [AddressWrite("member:amy", {"v": "ours"})])
    assert await _payloads(other) == {"member:amy": {"v": "other"}}
    assert await _payloads(workspace) == {"member:amy": {"v": "ours"}}
    assert await Department.all().count() == 0


async def test_members_from_the_plan_are_ordinary_saved_models(workspace, admin):
    amy, = await ensure_members(workspace, [Person("amy", "Amy")])
    await set_notifications(amy, False)
    await set_department(workspace, admin, amy, "Sales")
    stored = await Member.get(id=amy.id)
    assert (stored.notifications_enabled, stored.department_id) == (False, amy.department_id)
    assert stored.department_id is not None and await Member.filter(platform_user_id="amy").count() == 1


async def test_addresses_created_meanwhile_are_kept_or_replaced_as_asked(workspace):
    """The plan read no rows, then someone else stored both keys before its insert."""
    await store_addresses(workspace, [AddressWrite("kept", {"v": "theirs"}), AddressWrite("replaced", {"v": "theirs"})])
    plan = addresses_plan(workspace.id, [AddressWrite("kept", {"v": "ours"}, replace=False),
                                         AddressWrite("replaced", {"v": "ours"})], datetime.now(UTC))
    sql = Sql()
    next(plan)  # the read …
    statement = plan.send([])  # … as if it had run before their rows existed
    with pytest.raises(StopIteration):
        plan.send(await sql.rows(*statement))
    assert await _payloads(workspace) == {"kept": {"v": "theirs"}, "replaced": {"v": "ours"}}


async def test_unchanged_addresses_are_not_written(workspace):
    await store_addresses(workspace, [AddressWrite("same", {"v": 1})])
    plan = addresses_plan(workspace.id, [AddressWrite("same", {"v": 1}), AddressWrite("kept", {"v": 2}, False)],
                          datetime.now(UTC))
    await store_addresses(workspace, [AddressWrite("kept", {"v": 1})])
    statement = next(plan)
    with pytest.raises(StopIteration):  # nothing to write: the plan ends after its read
        plan.send(await Sql().rows(*statement))


@pytest.mark.parametrize("bad", ["", "   "])
async def test_an_id_that_cannot_name_anyone_is_an_unknown_member_and_nothing_is_written(workspace, bad):
    with pytest.raises(UnknownMember):
        await ensure_members(workspace, [Person("amy", "Amy"), Person(bad, "Nobody")])
    assert not await Member.exists(platform_user_id="amy")
    assert (await ensure_member(workspace, "x" * 255)).platform_user_id == "x" * 255


@pytest.mark.parametrize("length", [256, 300])
async def test_a_name_too_long_says_so_and_nothing_is_written(workspace, length):
    with pytest.raises(NameTooLong) as caught:
        await ensure_members(workspace, [Person("amy", "Amy"), Person("x" * length, "Nobody")])
    assert caught.value.localized("en") == f"“{'x' * 40}…” is too long to be a name: a name has at most 255 characters."
    assert caught.value.localized("ja") == f"「{'x' * 40}…」は名前として長すぎます。名前は255文字までです。"
    assert not await Member.exists(platform_user_id="amy")


async def test_the_one_cache_reuses_a_member_described_differently_only_when_nothing_would_change(workspace, bob):
    from core.app.identities import IdentityCache
    from core.services.members import Person

    cache = IdentityCache(ttl=60)
    cache.keep_member(Person("bob", "Bob", is_bot=False), bob)
    # Seen as a recipient first, now as a sender naming their language: nothing would change.
    bob.locale = "en"
    assert cache.member(workspace.id, Person("bob", "Bob", "en-US")) is bob
    assert cache.member(workspace.id, Person("bob", None)) is bob
    # Anything ensure_members would write makes it read again.
    assert cache.member(workspace.id, Person("bob", "Robert")) is None
    assert cache.member(workspace.id, Person("bob", "Bob", "ja")) is None
    assert cache.member(workspace.id, Person("bob", "Bob", is_bot=True)) is None
    assert cache.member(workspace.id, Person("bob", "Bob", role_ids=("r1",))) is None
