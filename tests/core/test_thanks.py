"""give_thanks: the rules, and that nothing is written when one is broken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tortoise.exceptions import IntegrityError

from core import errors
from core.models import Clap, DepartmentFlow, Member, Thanks, ThanksRecipient, Workspace
from core.services.members import ensure_member
from core.services.thanks import clap, give_thanks, load_thanks_view, unclap


async def counts() -> tuple[int, int, int]:
    return await Thanks.all().count(), await ThanksRecipient.all().count(), await DepartmentFlow.all().count()


async def test_thanks_is_stored_with_recipients_values_and_counters(workspace, alice, bob, carol):
    result = await give_thanks(workspace, alice, [bob, carol], "  great demo  ", ["teamwork", "＃挑戦"])
    assert result.created
    view = result.view
    assert view.message == "great demo"
    assert [r.display_name for r in view.recipients] == ["Bob", "Carol"]
    assert [v.key for v in view.values] == ["teamwork", "challenge"]
    assert (await Member.get(id=bob.id)).received_count == 1
    assert (await Member.get(id=alice.id)).sent_count == 1
    assert await counts() == (1, 2, 1)


async def test_cannot_thank_yourself_and_nothing_is_written(workspace, alice, bob):
    with pytest.raises(errors.SelfThanksNotAllowed) as caught:
        await give_thanks(workspace, alice, [bob, alice], "me too")
    assert "cannot thank yourself" in caught.value.localized("en")
    assert "自分自身" in caught.value.localized("ja")
    assert await counts() == (0, 0, 0)
    assert (await Member.get(id=bob.id)).received_count == 0


async def test_cannot_thank_a_bot(workspace, alice):
    bot = await ensure_member(workspace, "kizuna-bot", display_name="Kizuna", is_bot=True)
    with pytest.raises(errors.BotThanksNotAllowed):
        await give_thanks(workspace, alice, [bot], "hi")
    assert await counts() == (0, 0, 0)


@pytest.mark.parametrize("message", ["", "   ", "\u200b\u200b", "\n\t", "\ufeff "])
async def test_empty_message_is_refused(workspace, alice, bob, message):
    with pytest.raises(errors.EmptyMessage):
        await give_thanks(workspace, alice, [bob], message)
    assert await counts() == (0, 0, 0)


async def test_message_length_follows_the_workspace_setting(workspace: Workspace, alice, bob):
    await give_thanks(workspace, alice, [bob], "あ" * 500)
    with pytest.raises(errors.MessageTooLong) as caught:
        await give_thanks(workspace, alice, [bob], "あ" * 501)
    assert caught.value.params == {"max": 500, "length": 501}
    workspace.max_message_length = 10
    await workspace.save()
    with pytest.raises(errors.MessageTooLong):
        await give_thanks(workspace, alice, [bob], "x" * 11)
    assert await Thanks.all().count() == 1


async def test_recipients_are_distinct_and_at_most_ten(workspace, alice, bob):
    result = await give_thanks(workspace, alice, [bob, bob, bob], "thanks")
    assert len(result.view.recipients) == 1
    many = [await ensure_member(workspace, f"u{i}") for i in range(11)]
    with pytest.raises(errors.TooManyRecipients):
        await give_thanks(workspace, alice, many, "everyone")
    await give_thanks(workspace, alice, many[:10], "ten is fine")
    with pytest.raises(errors.NoRecipients):
        await give_thanks(workspace, alice, [], "nobody")


async def test_values_unknown_archived_too_many_and_required(workspace: Workspace, alice, bob, admin):
    with pytest.raises(errors.UnknownValue) as caught:
        await give_thanks(workspace, alice, [bob], "x", ["nope"])
    assert "#teamwork" in caught.value.localized("en")
    with pytest.raises(errors.TooManyValues):
        await give_thanks(workspace, alice, [bob], "x", ["teamwork", "growth", "challenge", "collaboration"])
    workspace.value_required = True
    await workspace.save()
    with pytest.raises(errors.ValueRequired):
        await give_thanks(workspace, alice, [bob], "x")
    from core.services.values import set_value_active

    await set_value_active(workspace, admin, "growth", False)
    with pytest.raises(errors.UnknownValue):
        await give_thanks(workspace, alice, [bob], "x", ["growth"])
    assert await counts() == (0, 0, 0)


TAGS = ["teamwork", "#Teamwork", "#チームワーク", "＃チームワーク", "ＴＥＡＭＷＯＲＫ", "TeamWork"]


@pytest.mark.parametrize("tag", TAGS)
async def test_value_tags_match_by_key_or_name_in_either_language(workspace, alice, bob, tag):
    result = await give_thanks(workspace, alice, [bob], "x", [tag])
    assert [v.key for v in result.view.values] == ["teamwork"]


async def test_daily_limit_counts_the_senders_local_day(workspace: Workspace, alice, bob):
    workspace.daily_limit = 2
    workspace.timezone = "Asia/Tokyo"
    await workspace.save()
    # 23:30 and 23:50 in Tokyo on the 1st, then 00:10 on the 2nd.
    day1 = datetime(2026, 11, 1, 14, 30, tzinfo=UTC)
    await give_thanks(workspace, alice, [bob], "1", now=day1)
    await give_thanks(workspace, alice, [bob], "2", now=day1 + timedelta(minutes=20))
    with pytest.raises(errors.DailyLimitReached) as caught:
        await give_thanks(workspace, alice, [bob], "3", now=day1 + timedelta(minutes=25))
    assert caught.value.params["limit"] == 2
    await give_thanks(workspace, alice, [bob], "next day", now=day1 + timedelta(minutes=40))
    assert await Thanks.all().count() == 3


async def test_same_event_twice_makes_one_thanks(workspace, alice, bob):
    first = await give_thanks(workspace, alice, [bob], "once", idempotency_key="evt-1")
    again = await give_thanks(workspace, alice, [bob], "once", idempotency_key="evt-1")
    assert first.created and not again.created
    assert again.view.id == first.view.id
    assert await Thanks.all().count() == 1
    assert (await Member.get(id=bob.id)).received_count == 1


async def test_clap_once_per_member_and_never_your_own(workspace, alice, bob, carol):
    view = (await give_thanks(workspace, alice, [bob], "x")).view
    first = await clap(workspace, view.id, carol)
    second = await clap(workspace, view.id, carol)
    assert first.changed and not second.changed
    assert second.view.clap_count == 1
    for own in (alice, bob):
        with pytest.raises(errors.ClapOwnThanks):
            await clap(workspace, view.id, own)
    undone = await unclap(workspace, view.id, carol)
    assert undone.changed and undone.view.clap_count == 0
    assert await Clap.all().count() == 0


async def test_clap_on_another_workspaces_thanks_is_not_found(workspace, alice, bob):
    from core.services.workspaces import ensure_workspace

    view = (await give_thanks(workspace, alice, [bob], "x")).view
    other = await ensure_workspace("console", "other")
    stranger = await ensure_member(other, "zed")
    with pytest.raises(errors.ThanksNotFound):
        await clap(other, view.id, stranger)
    with pytest.raises(errors.ThanksNotFound):
        await unclap(other, view.id, stranger)
    assert await Clap.all().count() == 0


async def test_a_clap_answers_the_thanks_as_load_thanks_view_reads_it(workspace, alice, bob, carol, admin):
    """What a clap returns is the card's thanks: field for field what ``load_thanks_view`` reads (on PostgreSQL
    it comes back from the clap's own call), with a project, recipients and values in their own order, and the
    names and values as they are now, not as they were."""
    from core.projects.service import create_project
    from core.services.values import rename_value, set_value_active

    dave = await ensure_member(workspace, "dave", display_name="Dave")
    await create_project(workspace, admin, "launch", "Launch 2027")
    # Recipients not in id order, values not in their display order.
    thanks = (await give_thanks(workspace, alice, [dave, bob, carol], "x", ["growth", "teamwork"],
                                project_tags=["+launch"])).view
    await Member.filter(id=bob.id).update(display_name="Robert")
    await rename_value(workspace, admin, "growth", name_en="Learning")
    await set_value_active(workspace, admin, "teamwork", False)

    clapped = await clap(workspace, thanks.id, admin)
    assert clapped.changed
    stored = await load_thanks_view(workspace, thanks.id)
    assert clapped.view == stored
    assert clapped.view.clap_count == 1
    assert [r.display_name for r in clapped.view.recipients] == ["Dave", "Robert", "Carol"]
    assert [(v.key, v.name_en, v.active) for v in clapped.view.values] == [("growth", "Learning", True),
                                                                             ("teamwork", "Teamwork", False)]
    assert clapped.view.project is not None and clapped.view.project.name == "Launch 2027"
    assert clapped.view.created_at == thanks.created_at and clapped.view.created_at.utcoffset() == timedelta(0)

    undone = await unclap(workspace, thanks.id, admin)
    assert undone.changed and undone.view == await load_thanks_view(workspace, thanks.id)
    assert undone.view.clap_count == 0


async def test_a_clap_on_a_thanks_without_project_or_values(workspace, alice, bob, carol):
    thanks = (await give_thanks(workspace, alice, [bob], "x")).view
    clapped = await clap(workspace, thanks.id, carol)
    assert clapped.view == await load_thanks_view(workspace, thanks.id)
    assert clapped.view.project is None and clapped.view.values == () and clapped.view.clap_count == 1


async def test_clap_and_unclap_on_an_unknown_or_own_thanks_change_nothing(workspace, alice, bob, carol):
    thanks = (await give_thanks(workspace, alice, [bob], "x")).view
    await clap(workspace, thanks.id, carol)
    for call in (clap, unclap):
        with pytest.raises(errors.ThanksNotFound):
            await call(workspace, thanks.id + 1000, carol)
        for own in (alice, bob):
            with pytest.raises(errors.ClapOwnThanks):
                await call(workspace, thanks.id, own)
    assert await Clap.all().count() == 1
    assert (await Thanks.get(id=thanks.id)).clap_count == 1


async def test_a_second_clap_and_an_unclap_without_a_clap_change_nothing(workspace, alice, bob, carol):
    thanks = (await give_thanks(workspace, alice, [bob], "x")).view
    nothing = await unclap(workspace, thanks.id, carol)
    assert not nothing.changed and nothing.view.clap_count == 0
    assert (await clap(workspace, thanks.id, carol)).changed
    again = await clap(workspace, thanks.id, carol)
    assert not again.changed and again.view.clap_count == 1
    assert (await unclap(workspace, thanks.id, carol)).changed
    after = await unclap(workspace, thanks.id, carol)
    assert not after.changed and after.view.clap_count == 0
    assert (await Thanks.get(id=thanks.id)).clap_count == 0 and await Clap.all().count() == 0


async def test_a_clap_inside_a_transaction_is_part_of_it(workspace, alice, bob, carol):
    from tortoise.transactions import in_transaction

    thanks = (await give_thanks(workspace, alice, [bob], "x")).view
    with pytest.raises(RuntimeError):
        async with in_transaction():
            assert (await clap(workspace, thanks.id, carol)).view.clap_count == 1
            raise RuntimeError("rolled back")
    assert await Clap.all().count() == 0 and (await Thanks.get(id=thanks.id)).clap_count == 0
    async with in_transaction():
        clapped = await clap(workspace, thanks.id, carol)
    assert clapped.view == await load_thanks_view(workspace, thanks.id) and clapped.view.clap_count == 1


@pytest.mark.postgres_only
async def test_a_role_that_may_not_create_functions_still_claps(workspace, alice, bob, carol, monkeypatch, caplog):
    import weakref

    from core.pg import FunctionUnavailable
    from core.services import thanks as thanks_module

    class Refused:
        async def call(self, client, arguments):
            raise FunctionUnavailable("permission denied for schema public")

    monkeypatch.setattr(thanks_module, "_CLAP_OR_UNCLAP", Refused())
    monkeypatch.setattr(thanks_module, "_no_function", weakref.WeakSet())
    thanks = (await give_thanks(workspace, alice, [bob], "x")).view
    clapped = await clap(workspace, thanks.id, carol)
    assert clapped.changed and clapped.view == await load_thanks_view(workspace, thanks.id)
    assert not (await clap(workspace, thanks.id, carol)).changed
    assert (await unclap(workspace, thanks.id, carol)).view.clap_count == 0
    assert [r.message for r in caplog.records if "thanks and claps take five round trips" in r.message] != []


@pytest.mark.parametrize("thanks_id", [0, -1, 2**31, 2**63, 10**30])
async def test_an_id_no_row_can_have_is_not_found_without_asking_the_database(workspace, alice, bob, thanks_id):
    # PostgreSQL refuses a query with an integer out of range, SQLite one beyond 64 bits.
    await give_thanks(workspace, alice, [bob], "x")
    with pytest.raises(errors.ThanksNotFound):
        await clap(workspace, thanks_id, bob)
    with pytest.raises(errors.ThanksNotFound):
        await unclap(workspace, thanks_id, bob)
    with pytest.raises(errors.ThanksNotFound):
        await load_thanks_view(workspace, thanks_id)


@pytest.mark.parametrize("text", ["🙏🏽 ありがとう!", "שלום תודה", "a\u200db", "<at>Bob</at> ${x} **bold** {\"a\":1}"])
async def test_unicode_and_markup_are_stored_as_given(workspace, alice, bob, text):
    result = await give_thanks(workspace, alice, [bob], text)
    assert (await Thanks.get(id=result.view.id)).message == text


async def test_a_replayed_event_returns_its_thanks_even_when_the_rules_would_now_refuse_it(workspace, alice, bob):
    workspace.daily_limit = 1
    await workspace.save()
    first = await give_thanks(workspace, alice, [bob], "a long enough message", ["teamwork"], idempotency_key="e")
    workspace.max_message_length = 5
    await workspace.save()
    again = await give_thanks(workspace, alice, [bob], "a long enough message", ["teamwork"], idempotency_key="e")
    assert not again.created and again.view.id == first.view.id
    assert [v.key for v in again.view.values] == ["teamwork"]
    with pytest.raises(errors.MessageTooLong):
        await give_thanks(workspace, alice, [bob], "a long enough message", idempotency_key="other")
    assert await Thanks.all().count() == 1


async def test_feed_post_and_notifications_are_queued_with_the_thanks(workspace: Workspace, alice, bob, carol):
    from core.models import Delivery

    workspace.feed_channel = "feed-1"
    await workspace.save()
    carol.notifications_enabled = False
    await carol.save()
    view = (await give_thanks(workspace, alice, [bob, carol], "x", notify_recipients=True, channel_ref="c9")).view
    rows = await Delivery.all().order_by("id").values_list("address_key", "kind", "dedupe_key", "status")
    assert rows == [("channel:feed-1", "feed", f"feed:{view.id}", "pending"),
                    ("member:bob", "notification", f"notify:{view.id}:{bob.id}", "pending")]
    await give_thanks(workspace, alice, [bob], "posted in the feed itself", channel_ref="feed-1")
    assert await Delivery.all().count() == 2


async def test_a_failure_half_way_leaves_nothing_behind(workspace, alice, bob):
    ghost = Member(id=987654, workspace_id=workspace.id, platform_user_id="ghost", display_name="Ghost")
    with pytest.raises(Exception):  # noqa: B017  (the foreign key the database enforces)
        await give_thanks(workspace, alice, [bob, ghost], "x")
    assert await counts() == (0, 0, 0)
    assert (await Member.get(id=alice.id)).sent_count == 0
    assert (await give_thanks(workspace, alice, [bob], "still works")).created


async def test_limits_are_read_fresh_even_from_a_stale_copy_of_the_workspace(workspace: Workspace, alice, bob):
    stale = await Workspace.get(id=workspace.id)
    await Workspace.filter(id=workspace.id).update(daily_limit=1, max_message_length=3, value_required=True)
    with pytest.raises(errors.MessageTooLong):
        await give_thanks(stale, alice, [bob], "four")
    with pytest.raises(errors.ValueRequired):
        await give_thanks(stale, alice, [bob], "ok")
    await give_thanks(stale, alice, [bob], "ok", ["growth"])
    with pytest.raises(errors.DailyLimitReached):
        await give_thanks(stale, alice, [bob], "ok", ["growth"])


async def test_thanks_arriving_together_share_a_commit_but_not_their_failures(workspace: Workspace, alice, bob, carol):
    import asyncio

    workspace.daily_limit = 3
    await workspace.save()
    calls = [
        give_thanks(workspace, alice, [bob], "one", idempotency_key="a"),
        give_thanks(workspace, alice, [bob], "same event", idempotency_key="a"),
        give_thanks(workspace, alice, [carol], "bad value", ["nope"]),
        give_thanks(workspace, alice, [carol], "two"),
        give_thanks(workspace, alice, [bob], "three"),
        give_thanks(workspace, alice, [carol], "over the limit"),
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    bad = results.pop(2)
    assert isinstance(bad, errors.UnknownValue)
    # Which of the five arrives last is up to the database (PostgreSQL runs them side by side).
    refused = [r for r in results if isinstance(r, errors.DailyLimitReached)]
    accepted = [r for r in results if not isinstance(r, BaseException)]
    assert len(refused) == 1 and len(accepted) == 4
    ids = {r.view.id for r in accepted}
    assert len(ids) == 3 and sum(r.created for r in accepted) == 3
    assert await Thanks.all().count() == 3 and await ThanksRecipient.all().count() == 3
    assert (await Member.get(id=alice.id)).sent_count == 3


@pytest.mark.postgres_only
async def test_people_thanking_each_other_at_the_same_moment_all_succeed(workspace: Workspace):
    """A ring of people each thanking the next at once (A→B, B→C … F→A), several times over: each
    thanks locks its sender and recipient rows, so an unordered lock would leave two of them
    waiting for each other (PostgreSQL then aborts one with "deadlock detected")."""
    import asyncio

    from core.services.members import ensure_member

    ring = [await ensure_member(workspace, f"ring-{i}", display_name=f"Ring {i}") for i in range(6)]
    for round_ in range(4):
        calls = [give_thanks(workspace, ring[i], [ring[(i + 1) % 6], ring[(i + 3) % 6]], f"round {round_}")
                 for i in range(6)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
    assert await Thanks.all().count() == 24
    assert {m.sent_count for m in await Member.filter(platform_user_id__startswith="ring-")} == {4}


@pytest.mark.postgres_only
async def test_thanks_to_two_departments_in_opposite_orders_at_the_same_moment_all_succeed(workspace: Workspace):
    """People of one department thanking people of departments X and Y at once, some naming X's person
    first and others Y's: each thanks updates two rows of the day's rollup, so an order taken from the
    recipients would leave two of them waiting for each other."""
    import asyncio

    from core.services.members import ensure_department, ensure_member

    x, y, s = [await ensure_department(workspace, name) for name in ("X", "Y", "S")]

    async def person(name: str, department_id: int) -> Member:
        member = await ensure_member(workspace, name, display_name=name)
        member.department_id = department_id
        await member.save()
        return member

    # Nobody in common between two thanks: only the rollup rows are shared.
    senders = [await person(f"s-{i}", s.id) for i in range(8)]
    in_x = [await person(f"x-{i}", x.id) for i in range(8)]
    in_y = [await person(f"y-{i}", y.id) for i in range(8)]
    for round_ in range(3):
        calls = [give_thanks(workspace, sender, [in_x[i], in_y[i]] if i % 2 else [in_y[i], in_x[i]], f"round {round_}")
                 for i, sender in enumerate(senders)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
    flows = {(f.sender_department_id, f.recipient_department_id): f.count for f in await DepartmentFlow.all()}
    assert flows == {(s.id, x.id): 24, (s.id, y.id): 24}


async def test_values_and_projects_changed_between_two_thanks_are_seen_by_the_second(workspace: Workspace, alice, bob,
                                                                                     admin):
    """On PostgreSQL a process keeps what the rules read from the workspace between thanks: a change made
    meanwhile (here, or by another process) must still decide the next one."""
    from core.projects.service import create_project
    from core.services.values import add_value, set_value_active

    await give_thanks(workspace, alice, [bob], "first", ["teamwork"], channel_ref="room-1")
    await add_value(workspace, admin, "kaizen", "Kaizen", "改善")
    await set_value_active(workspace, admin, "teamwork", False)
    await create_project(workspace, admin, "launch", "Launch", channel="room-1")
    with pytest.raises(errors.UnknownValue):
        await give_thanks(workspace, alice, [bob], "archived now", ["teamwork"], channel_ref="room-1")
    result = await give_thanks(workspace, alice, [bob], "new value", ["#改善"], channel_ref="room-1")
    assert [v.key for v in result.view.values] == ["kaizen"]
    assert result.view.project is not None and result.view.project.key == "launch"
    workspace_now = await Workspace.get(id=workspace.id)
    workspace_now.max_message_length = 5
    await workspace_now.save()
    with pytest.raises(errors.MessageTooLong):
        await give_thanks(workspace, alice, [bob], "too long now")
    assert await Thanks.all().count() == 2


@pytest.mark.postgres_only
async def test_a_thanks_that_fails_in_a_group_leaves_the_others_of_its_group_whole(workspace: Workspace, alice, bob,
                                                                                    carol):
    """On PostgreSQL thanks arriving together are one call (one transaction): each has its own savepoint, so a
    broken one (a recipient that does not exist: the foreign key) writes nothing, and the rest are complete,
    rollup included."""
    import asyncio

    ghost = Member(id=987654, workspace_id=workspace.id, platform_user_id="ghost", display_name="Ghost")
    await give_thanks(workspace, bob, [alice], "warm-up: the process now knows the workspace's catalogue")
    # With nothing left to read first, the four reach the group committer in the same turn: one call.
    calls = [give_thanks(workspace, alice, [bob], "one", idempotency_key="k1"),
             give_thanks(workspace, carol, [bob, ghost], "to a ghost"),
             give_thanks(workspace, bob, [carol], "two"),
             give_thanks(workspace, alice, [bob], "one again", idempotency_key="k1")]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[1], IntegrityError)
    first, second, again = results[0], results[2], results[3]
    assert not isinstance(first, BaseException) and not isinstance(second, BaseException)
    assert not isinstance(again, BaseException)
    assert first.created and second.created and not again.created and again.view.id == first.view.id
    assert await Thanks.all().count() == 3 and await ThanksRecipient.all().count() == 3
    people = {m.id: (m.sent_count, m.received_count) for m in await Member.filter(id__in=[alice.id, bob.id, carol.id])}
    assert people == {alice.id: (1, 1), bob.id: (2, 1), carol.id: (0, 1)}
    assert sum(f.count for f in await DepartmentFlow.all()) == 3


@pytest.mark.postgres_only
async def test_groups_of_two_processes_naming_the_same_people_in_opposite_orders_all_succeed(workspace: Workspace,
                                                                                          monkeypatch):
    """Two processes each send a group of thanks at the same moment (here: two group committers on one pool).
    A group locks all its people in id order before any thanks, and its rollup rows last in sorted order,
    so two groups never wait for each other in a circle."""
    import asyncio
    from functools import partial

    from tortoise import connections

    from core.pg import Batch
    from core.services import thanks as thanks_module
    from core.services.members import ensure_department, ensure_member

    x, y = [await ensure_department(workspace, name) for name in ("X", "Y")]
    ring = []
    for i in range(8):
        member = await ensure_member(workspace, f"ring-{i}", display_name=f"Ring {i}")
        member.department_id = (x, y)[i % 2].id
        await member.save()
        ring.append(member)
    client = connections.get("default")
    groups = [Batch(partial(thanks_module._call_thanks_function, client)) for _ in range(2)]
    turn = iter(range(10_000))
    batch_of = Batch.of.__func__  # type: ignore[attr-defined]

    def of(cls, client_, key, run):  # the thanks' groups alternate; the people's batches are as ever
        return groups[next(turn) % 2] if key == "thanks" else batch_of(cls, client_, key, run)

    monkeypatch.setattr(Batch, "of", classmethod(of))
    for round_ in range(4):
        calls = [give_thanks(workspace, ring[i], [ring[(i + 1) % 8], ring[(i + 5) % 8]] if i % 2
                             else [ring[(i + 5) % 8], ring[(i + 1) % 8]], f"round {round_}") for i in range(8)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
    assert await Thanks.all().count() == 32
    assert {m.sent_count for m in await Member.filter(platform_user_id__startswith="ring-")} == {4}
    assert sum(f.count for f in await DepartmentFlow.all()) == 64
