"""Admin services: renaming and merging departments, granting and revoking admin rights."""

from __future__ import annotations

import asyncio
import contextvars
from datetime import UTC, date, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from core import errors
from core.meetings.models import Meeting
from core.meetings.service import create_meeting
from core.models import NO_DEPARTMENT, Department, DepartmentFlow, Member, ThanksRecipient, Workspace
from core.services.access import SYSTEM_ACTOR
from core.services.admins import grant_admin, list_admins, revoke_admin
from core.services.export import export_rows
from core.services.members import (
    ensure_member,
    find_department,
    get_department,
    map_role_to_department,
    merge_departments,
    rename_department,
    set_department,
)
from core.services.stats import Period, department_matrix
from core.services.thanks import give_thanks
from core.services.workspaces import ensure_workspace

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # Friday, noon in Tokyo


async def _department_of(member: Member) -> str | None:
    fresh = await Member.get(id=member.id).prefetch_related("department")
    return fresh.department.name if fresh.department else None


async def _meeting(workspace, organiser, departments: list[str]) -> Meeting:
    view = await create_meeting(workspace, organiser, title="Exchange", start="2026-12-07 10:00", channel="c1",
                                departments=departments, now=NOW)
    return await Meeting.get(id=view.id)


# ---- rename ----------------------------------------------------------------------------------


async def test_only_admins_rename_departments(workspace, admin, alice):
    await set_department(workspace, admin, alice, "Sales")
    with pytest.raises(errors.NotAnAdmin):
        await rename_department(workspace, alice, "Sales", "Field Sales")
    assert [d.name for d in await Department.filter(workspace_id=workspace.id)] == ["Sales"]


async def test_rename_finds_the_department_whatever_its_case_or_width(workspace, admin, alice):
    await set_department(workspace, admin, alice, "Sales")
    renamed = await rename_department(workspace, admin, "ＳＡＬＥＳ", "  Field   Sales ")
    assert renamed.name == "Field Sales"
    assert await _department_of(alice) == "Field Sales"
    assert (await get_department(workspace, "field sales")).id == renamed.id
    assert await find_department(workspace, "Sales") is None


async def test_rename_may_change_only_the_spelling(workspace, admin, alice):
    await set_department(workspace, admin, alice, "sales")
    assert (await rename_department(workspace, admin, "Sales", "SALES")).name == "SALES"
    assert await _department_of(alice) == "SALES"


async def test_rename_to_another_departments_name_is_refused(workspace, admin, alice, bob):
    await set_department(workspace, admin, alice, "Sales")
    await set_department(workspace, admin, bob, "Marketing")
    with pytest.raises(errors.DepartmentNameTaken) as caught:
        await rename_department(workspace, admin, "Sales", "ｍａｒｋｅｔｉｎｇ")
    assert "Marketing" in caught.value.localized("en") and "Marketing" in caught.value.localized("ja")
    assert sorted(d.name for d in await Department.filter(workspace_id=workspace.id)) == ["Marketing", "Sales"]


async def test_rename_checks_both_names(workspace, admin, alice):
    await set_department(workspace, admin, alice, "Sales")
    for bad in ["", "   ", "x" * 101]:
        with pytest.raises(errors.InvalidDepartmentName):
            await rename_department(workspace, admin, "Sales", bad)
    with pytest.raises(errors.UnknownDepartment):
        await rename_department(workspace, admin, "Legal", "Compliance")
    assert (await rename_department(workspace, admin, "Sales", "x" * 100)).name == "x" * 100


async def test_rename_keeps_the_role_mapping_and_renames_meeting_departments(workspace, admin, alice):
    await map_role_to_department(workspace, admin, "role-1", "Sales")
    await set_department(workspace, admin, alice, "Engineering")
    meeting = await _meeting(workspace, alice, ["sales", "engineering"])
    assert meeting.departments == ["Sales", "Engineering"]
    renamed = await rename_department(workspace, admin, "Sales", "Field Sales")
    assert renamed.platform_role_id == "role-1"
    bob = await ensure_member(workspace, "bob", role_ids=["role-1"])
    assert await _department_of(bob) == "Field Sales"
    meeting = await Meeting.get(id=meeting.id)
    assert (meeting.departments, meeting.department_ids) == (
        ["Field Sales", "Engineering"], [renamed.id, (await get_department(workspace, "Engineering")).id])


# ---- merge -----------------------------------------------------------------------------------


async def test_only_admins_merge_departments_and_both_must_exist(workspace, admin, alice, bob):
    await set_department(workspace, admin, alice, "Sales")
    await set_department(workspace, admin, bob, "Marketing")
    with pytest.raises(errors.NotAnAdmin):
        await merge_departments(workspace, alice, "Sales", "Marketing")
    with pytest.raises(errors.UnknownDepartment):
        await merge_departments(workspace, admin, "Legal", "Marketing")
    with pytest.raises(errors.UnknownDepartment):
        await merge_departments(workspace, admin, "Sales", "Legal")
    assert await _department_of(alice) == "Sales"
    assert await Department.filter(workspace_id=workspace.id).count() == 2


async def test_a_department_cannot_be_merged_into_itself(workspace, admin, alice):
    await set_department(workspace, admin, alice, "Sales")
    with pytest.raises(errors.DepartmentMergedIntoItself) as caught:
        await merge_departments(workspace, admin, "sales", "ＳＡＬＥＳ")
    assert "Sales" in caught.value.localized("ja")
    assert await _department_of(alice) == "Sales"


async def test_merge_moves_members_and_deletes_the_source(workspace, admin, alice, bob, carol):
    await set_department(workspace, admin, alice, "Sales")
    await set_department(workspace, admin, bob, "Sales")
    await set_department(workspace, admin, carol, "Marketing")
    target = await merge_departments(workspace, admin, "sales", "marketing")
    assert target.name == "Marketing"
    assert [await _department_of(m) for m in (alice, bob, carol)] == ["Marketing"] * 3
    assert [d.name for d in await Department.filter(workspace_id=workspace.id)] == ["Marketing"]


async def test_merge_moves_the_role_mapping_unless_the_target_has_its_own(workspace, admin):
    await map_role_to_department(workspace, admin, "role-s", "Sales")
    target = await merge_departments(workspace, admin, "Sales", await _new_department(workspace, admin, "Marketing"))
    assert target.platform_role_id == "role-s"
    newcomer = await ensure_member(workspace, "newcomer", role_ids=["role-s"])
    assert await _department_of(newcomer) == "Marketing"

    await map_role_to_department(workspace, admin, "role-l", "Legal")
    kept = await merge_departments(workspace, admin, "Legal", "Marketing")
    assert kept.platform_role_id == "role-s"
    assert await Department.filter(workspace_id=workspace.id, platform_role_id="role-l").count() == 0


async def _new_department(workspace, admin, name: str) -> str:
    holder = await ensure_member(workspace, f"holder-{name}")
    await set_department(workspace, admin, holder, name)
    return name


async def test_merge_repoints_meetings_without_repeating_a_department(workspace, admin, alice):
    for name in ("Sales", "Marketing", "Legal"):
        await _new_department(workspace, admin, name)
    both = await _meeting(workspace, alice, ["Sales", "Legal", "Marketing"])
    source_only = await _meeting(workspace, alice, ["Legal", "Sales"])
    untouched = await _meeting(workspace, alice, ["Legal"])
    target = await merge_departments(workspace, admin, "Sales", "Marketing")
    legal = await get_department(workspace, "Legal")
    both, source_only, untouched = [await Meeting.get(id=m.id) for m in (both, source_only, untouched)]
    assert (both.departments, both.department_ids) == (["Legal", "Marketing"], [legal.id, target.id])
    assert (source_only.departments, source_only.department_ids) == (["Legal", "Marketing"], [legal.id, target.id])
    assert (untouched.departments, untouched.department_ids) == (["Legal"], [legal.id])


async def test_merge_restates_statistics_as_if_the_departments_had_always_been_one(workspace, admin, alice, bob,
                                                                                    carol):
    workspace.daily_limit = 100
    await workspace.save()
    dave = await ensure_member(workspace, "dave", display_name="Dave")  # no department
    await set_department(workspace, admin, alice, "Sales")
    await set_department(workspace, admin, bob, "Marketing")
    await set_department(workspace, admin, carol, "Legal")
    sales, marketing, legal = [await get_department(workspace, n) for n in ("Sales", "Marketing", "Legal")]
    yesterday = NOW - timedelta(days=1)
    for moment in (yesterday, NOW, NOW):
        await give_thanks(workspace, alice, [bob], "s→m", now=moment)
        await give_thanks(workspace, bob, [alice], "m→s", now=moment)
        await give_thanks(workspace, bob, [carol], "m→l", now=moment)
    await give_thanks(workspace, alice, [carol, dave], "s→l, s→none", now=NOW)
    await give_thanks(workspace, carol, [alice], "l→s", now=NOW)
    await give_thanks(workspace, dave, [alice], "none→s", now=NOW)
    before = await department_matrix(workspace, Period.ALL, now=NOW)
    exported_before = [row async for row in export_rows([workspace])]

    await merge_departments(workspace, admin, "Sales", "Marketing")

    after = await department_matrix(workspace, Period.ALL, now=NOW)
    m, lg, none = marketing.id, legal.id, NO_DEPARTMENT
    assert after.cells == {(m, m): 6, (m, lg): 4, (m, none): 1, (lg, m): 1, (none, m): 1}
    assert sum(after.cells.values()) == sum(before.cells.values())
    assert after.departments == ((m, "Marketing"), (lg, "Legal"), (none, None))
    # One rollup row per day and pair: the folded rows were added up, not duplicated.
    flows = await DepartmentFlow.filter(workspace_id=workspace.id).order_by("day", "sender_department_id",
                                                                            "recipient_department_id")
    keys = [(f.day, f.sender_department_id, f.recipient_department_id) for f in flows]
    assert len(keys) == len(set(keys))
    assert sales.id not in {i for f in flows for i in (f.sender_department_id, f.recipient_department_id)}
    assert [(f.day, f.count) for f in flows if (f.sender_department_id, f.recipient_department_id) == (m, m)] == [
        (date(2026, 11, 26), 2), (date(2026, 11, 27), 4)]
    # Each recipient row (the export, the history of each thanks) names the merged department.
    recipients = await ThanksRecipient.filter(workspace_id=workspace.id)
    assert sales.id not in {i for r in recipients for i in (r.sender_department_id, r.recipient_department_id)}
    exported = [row async for row in export_rows([workspace])]
    assert exported == [["Marketing" if cell == "Sales" else cell for cell in row] for row in exported_before]


async def test_a_merge_waits_for_the_one_in_progress_and_sees_its_outcome(workspace, admin, alice, bob):
    await set_department(workspace, admin, alice, "Sales")
    await set_department(workspace, admin, bob, "Marketing")
    sales, marketing = await get_department(workspace, "Sales"), await get_department(workspace, "Marketing")
    outside = contextvars.copy_context()  # the second merge runs in its own transaction, not in this one
    async with in_transaction():
        # A merge of Sales into Marketing in progress: it holds both rows and is about to delete Sales.
        await Department.filter(id__in=[sales.id, marketing.id]).order_by("id").select_for_update(no_key=True)
        await Member.filter(id=alice.id).update(department_id=marketing.id)
        await Department.filter(id=sales.id).delete()
        second = asyncio.create_task(merge_departments(workspace, admin, "Sales", "Marketing"), context=outside)
        await asyncio.sleep(0.3)
        assert not second.done()
    with pytest.raises(errors.UnknownDepartment):
        await second
    assert [d.name for d in await Department.filter(workspace_id=workspace.id)] == ["Marketing"]


async def test_merge_touches_no_other_workspace(workspace, admin, alice, bob):
    other = await ensure_workspace("console", "other")
    other_admin = await ensure_member(other, "root")
    other_admin.is_admin = True
    other_sales_member = await ensure_member(other, "x")
    await set_department(other, other_admin, other_sales_member, "Sales")
    await set_department(workspace, admin, alice, "Sales")
    await set_department(workspace, admin, bob, "Marketing")
    await merge_departments(workspace, admin, "Sales", "Marketing")
    assert await _department_of(other_sales_member) == "Sales"
    assert (await get_department(other, "Sales")).workspace_id == other.id


# ---- admins ----------------------------------------------------------------------------------


async def test_only_admins_grant_and_revoke(workspace, admin, alice, bob):
    with pytest.raises(errors.NotAnAdmin):
        await grant_admin(workspace, alice, bob)
    with pytest.raises(errors.NotAnAdmin):
        await revoke_admin(workspace, alice, admin)
    assert [m.id for m in await list_admins(workspace)] == [admin.id]


async def test_grant_and_revoke_are_saved_and_idempotent(workspace, admin, alice):
    granted = await grant_admin(workspace, admin, alice)
    assert granted.is_admin and granted.may_administer
    assert (await grant_admin(workspace, admin, alice)).is_admin
    assert (await Member.get(id=alice.id)).is_admin
    assert [m.display_name for m in await list_admins(workspace)] == ["Admin", "Alice"]
    revoked = await revoke_admin(workspace, admin, alice)
    assert not revoked.is_admin and not revoked.may_administer
    assert not (await revoke_admin(workspace, admin, alice)).is_admin
    assert not (await Member.get(id=alice.id)).is_admin
    assert [m.display_name for m in await list_admins(workspace)] == ["Admin"]


async def test_the_last_admin_cannot_be_revoked(workspace, admin, alice):
    with pytest.raises(errors.CannotRevokeLastAdmin) as caught:
        await revoke_admin(workspace, admin, admin)
    assert "Admin" in caught.value.localized("en") and "Admin" in caught.value.localized("ja")
    with pytest.raises(errors.CannotRevokeLastAdmin):
        await revoke_admin(workspace, SYSTEM_ACTOR, admin)
    assert (await Member.get(id=admin.id)).is_admin
    # With a second admin, either may step down, but not both.
    await grant_admin(workspace, SYSTEM_ACTOR, alice)
    await revoke_admin(workspace, admin, admin)
    with pytest.raises(errors.CannotRevokeLastAdmin):
        await revoke_admin(workspace, alice, alice)
    assert [m.display_name for m in await list_admins(workspace)] == ["Alice"]


async def test_platform_admins_count_as_admins(workspace, admin, bob):
    bob.platform_admin = True
    await bob.save()
    assert [m.display_name for m in await list_admins(workspace)] == ["Admin", "Bob"]
    await revoke_admin(workspace, admin, admin)
    assert [m.display_name for m in await list_admins(workspace)] == ["Bob"]
    # Kizuna's own grant of a platform admin can be withdrawn: they stay an admin while the platform says so.
    await grant_admin(workspace, bob, bob)
    still = await revoke_admin(workspace, bob, bob)
    assert (still.is_admin, still.may_administer) == (False, True)


async def test_a_revocation_waits_for_the_one_in_progress_and_sees_its_outcome(workspace, admin, alice):
    await grant_admin(workspace, admin, alice)
    outside = contextvars.copy_context()  # the second revocation runs in its own transaction, not in this one
    async with in_transaction():
        # A revocation in progress: it holds the workspace's admin lock and has withdrawn Alice's grant.
        await Workspace.filter(id=workspace.id).select_for_update(no_key=True).only("id")
        await Member.filter(id=alice.id).update(is_admin=False)
        second = asyncio.create_task(revoke_admin(workspace, alice, admin), context=outside)
        await asyncio.sleep(0.3)
        assert not second.done()
    with pytest.raises(errors.CannotRevokeLastAdmin):
        await second
    assert [m.display_name for m in await list_admins(workspace)] == ["Admin"]


async def test_members_of_another_workspace_are_unknown(workspace, admin):
    other = await ensure_workspace("console", "other")
    stranger = await ensure_member(other, "stranger", display_name="Stranger")
    with pytest.raises(errors.UnknownMember):
        await grant_admin(workspace, admin, stranger)
    with pytest.raises(errors.UnknownMember):
        await revoke_admin(workspace, admin, stranger)
    assert not (await Member.get(id=stranger.id)).is_admin
    assert await list_admins(other) == []


async def test_a_feed_channel_that_is_no_channel_id_is_refused_and_nothing_is_saved(workspace, admin):
    from core.errors import InvalidSetting
    from core.services.workspaces import update_settings

    for bad in ("x" * 300, "two words"):
        with pytest.raises(InvalidSetting):
            await update_settings(workspace, admin, feed_channel=bad)
    await workspace.refresh_from_db()
    assert workspace.feed_channel in (None, "")
