"""Values (defaults, admin edits) and members (departments, role mapping, CSV import)."""

from __future__ import annotations

import pytest

from core import errors
from core.models import Department, Member, Value, Workspace
from core.services.access import SYSTEM_ACTOR
from core.services.members import (
    ImportFailed,
    ensure_member,
    import_members,
    map_role_to_department,
    parse_members_csv,
    set_department,
)
from core.services.thanks import give_thanks, load_thanks_view
from core.services.values import add_value, list_values, rename_value, reorder_values, set_value_active
from core.services.workspaces import ensure_workspace, update_settings


async def test_new_workspace_gets_the_bilingual_defaults(workspace):
    values = await list_values(workspace)
    assert [(v.key, v.name_ja, v.emoji) for v in values] == [
        ("collaboration", "協力", "🤝"), ("teamwork", "チームワーク", "🙌"), ("challenge", "挑戦", "🚀"),
        ("customer-first", "顧客第一", "💡"), ("growth", "成長", "🌱"),
    ]


async def test_workspaces_do_not_share_values(workspace, admin):
    other = await ensure_workspace("discord", "123")
    await add_value(workspace, admin, "kaizen", "Kaizen", "改善", "🔧")
    assert "kaizen" not in [v.key for v in await list_values(other)]


async def test_only_admins_edit_values(workspace, alice, admin):
    with pytest.raises(errors.NotAnAdmin):
        await add_value(workspace, alice, "kaizen", "Kaizen")
    value = await add_value(workspace, admin, "Kaizen", "Kaizen", "改善", "🔧")
    assert value.key == "kaizen" and value.position == 5
    with pytest.raises(errors.ValueKeyTaken):
        await add_value(workspace, admin, "kaizen", "Other")
    with pytest.raises(errors.ValueNameTaken):
        await add_value(workspace, admin, "tw", "Teamwork")
    with pytest.raises(errors.InvalidValueDefinition):
        await add_value(workspace, admin, "bad key!", "Bad")
    with pytest.raises(errors.InvalidValueDefinition):
        await add_value(workspace, admin, "ok", "#hash")
    assert await Value.filter(workspace_id=workspace.id).count() == 6


async def test_rename_reorder_and_archive(workspace, admin, alice, bob):
    await rename_value(workspace, admin, "teamwork", name_en="Team spirit", name_ja="チーム精神")
    result = await give_thanks(workspace, alice, [bob], "x", ["#チーム精神"])
    assert result.view.values[0].name_en == "Team spirit"
    ordered = await reorder_values(workspace, admin, ["growth", "challenge"])
    assert [v.key for v in ordered][:3] == ["growth", "challenge", "collaboration"]
    await set_value_active(workspace, admin, "teamwork", False)
    assert "teamwork" not in [v.key for v in await list_values(workspace)]
    # An archived value stays on the thanks that used it.
    view = await load_thanks_view(workspace, result.view.id)
    assert [v.key for v in view.values] == ["teamwork"]


async def test_settings_are_checked_and_admin_only(workspace, alice, admin):
    with pytest.raises(errors.NotAnAdmin):
        await update_settings(workspace, alice, daily_limit=5)
    for name, bad in [("daily_limit", "0"), ("locale", "fr"), ("timezone", "Mars/Base"), ("leaderboard", "maybe"),
                      ("max_message_length", "99999"), ("nope", "1")]:
        with pytest.raises(errors.InvalidSetting):
            await update_settings(workspace, admin, **{name: bad})
    await update_settings(workspace, admin, daily_limit="5", locale="ja", timezone="Europe/Berlin", leaderboard="off")
    assert (workspace.daily_limit, workspace.default_locale, workspace.timezone, workspace.leaderboard_enabled) == (
        5, "ja", "Europe/Berlin", False)


async def test_member_is_refreshed_from_the_platform(workspace):
    member = await ensure_member(workspace, "u1", display_name="Old", locale="en-US")
    again = await ensure_member(workspace, "u1", display_name="New", locale="ja-JP")
    assert again.id == member.id and (again.display_name, again.locale) == ("New", "ja")
    assert await Member.filter(platform_user_id="u1").count() == 1


async def test_department_set_by_admin_and_mapped_from_roles(workspace, admin, alice, bob):
    with pytest.raises(errors.NotAnAdmin):
        await set_department(workspace, alice, bob, "Sales")
    await set_department(workspace, admin, bob, "  Sales ")
    await set_department(workspace, admin, alice, "sales")  # same department, other case
    assert await Department.filter(workspace_id=workspace.id).count() == 1
    department = await map_role_to_department(workspace, admin, "role-42", "Engineering")
    member = await ensure_member(workspace, "dave", role_ids=["role-7", "role-42"])
    assert member.department_id == department.id


CSV_OK = """platform,user_id,display_name,department,admin
console,u1,山田 太郎,営業,true
console,u2,Jane Doe,Engineering,
console,alice,Alice A.,営業,false
"""


async def test_csv_import_creates_and_updates_members(workspace, alice):
    result = await import_members(workspace, parse_members_csv("\ufeff" + CSV_OK, "console"))
    assert (result.created, result.updated, result.departments_created) == (2, 1, 2)
    taro = await Member.get(platform_user_id="u1").prefetch_related("department")
    assert taro.display_name == "山田 太郎" and taro.is_admin and taro.department.name == "営業"
    assert (await Member.get(id=alice.id)).display_name == "Alice A."


@pytest.mark.parametrize(("text", "line"), [
    ("platform,user_id,display_name,department,admin\nconsole,u1,A,Sales,yes\nconsole,,B,Sales,no\n", 3),
    ("platform,user_id,display_name,department,admin\nconsole,u1,A,Sales,perhaps\n", 2),
    ("platform,user_id,display_name,department,admin\nteams,u1,A,Sales,no\n", 2),
    ("platform,user_id,display_name,department,admin\nconsole,u1,A,Sales,no\nconsole,u1,B,Sales,no\n", 3),
    ("platform,user_id,display_name,department,admin\nconsole,u1,A\n", 2),
    ("user,name\nu1,A\n", 1),
    ("", 1),
])
async def test_bad_csv_row_is_reported_by_line_and_nothing_is_imported(workspace, text, line):
    before = await Member.all().count()
    with pytest.raises(ImportFailed) as caught:
        await import_members(workspace, parse_members_csv(text, "console"))
    assert caught.value.errors[0].params["line"] == line
    assert f"{line}行目" in caught.value.errors[0].localized("ja")
    assert await Member.all().count() == before
    assert await Department.all().count() == 0


async def test_system_actor_is_an_admin_that_is_never_saved(workspace):
    value = await add_value(workspace, SYSTEM_ACTOR, "kaizen", "Kaizen")
    assert value.key == "kaizen"
    assert not await Member.filter(platform_user_id="system").exists()


async def test_a_rename_cannot_take_another_values_name(workspace, admin):
    with pytest.raises(errors.ValueNameTaken):
        await rename_value(workspace, admin, "growth", name_en="Teamwork")
    with pytest.raises(errors.ValueNameTaken):
        await rename_value(workspace, admin, "growth", name_ja="挑戦")
    renamed = await rename_value(workspace, admin, "growth", name_en="Growth mindset")
    assert renamed.name_en == "Growth mindset"


async def test_a_new_value_whose_name_is_taken_blames_the_name_not_the_key(workspace, admin):
    with pytest.raises(errors.ValueNameTaken) as caught:
        await add_value(workspace, admin, "x2", "Teamwork")
    assert "“Teamwork”" in caught.value.localized("en") and "name" in caught.value.localized("en")
    assert "「Teamwork」という名前" in caught.value.localized("ja")
    with pytest.raises(errors.ValueNameTaken):
        await add_value(workspace, admin, "x3", "Team spirit", "チームワーク")
    with pytest.raises(errors.ValueKeyTaken) as key_taken:
        await add_value(workspace, admin, "teamwork", "Something else")
    assert "“teamwork”" in key_taken.value.localized("en")
    assert await Value.filter(workspace_id=workspace.id).count() == 5


@pytest.mark.parametrize("emoji", ["notanemoji", "123", "x🤝", ":smile:", "🤝 🙌", "ａ"])
async def test_an_emoji_that_is_not_an_emoji_is_refused(workspace, admin, emoji):
    with pytest.raises(errors.NotAnEmoji) as caught:
        await add_value(workspace, admin, "kaizen", "Kaizen", "改善", emoji)
    assert f"“{emoji}”" in caught.value.localized("en") and f"「{emoji}」" in caught.value.localized("ja")
    with pytest.raises(errors.NotAnEmoji):
        await rename_value(workspace, admin, "teamwork", emoji=emoji)
    assert not await Value.filter(key="kaizen").exists()
    assert (await Value.get(workspace_id=workspace.id, key="teamwork")).emoji == "🙌"


@pytest.mark.parametrize("emoji", ["🔧", "", " 🤝 ", "👨\u200d👩\u200d👧", "👍🏽", "🇯🇵", "1️⃣", "#️⃣", "❤️", "★"])
async def test_emoji_of_every_kind_are_accepted(workspace, admin, emoji):
    value = await add_value(workspace, admin, "kaizen", "Kaizen", "改善", emoji)
    assert value.emoji == emoji.strip()


@pytest.mark.parametrize("external_id", ["", "   ", "\t", "w" * 256])
async def test_a_workspace_needs_an_id(db, external_id):
    with pytest.raises(errors.InvalidWorkspaceId) as caught:
        await ensure_workspace("console", external_id)
    assert caught.value.localized("ja") != caught.value.localized("en")
    assert "255" in caught.value.localized("en")
    assert await Workspace.all().count() == 0
    assert (await ensure_workspace("console", "w" * 255)).name == "w" * 255
