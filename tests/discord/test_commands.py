"""/leaderboard, /values, /help and the admin commands under /kizuna."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord import validate, wire
from adapters.discord.commands import command_definitions
from core.models import Department, Member, Value, Workspace
from core.services import admins, members
from core.services.members import ensure_department, ensure_member
from core.services.workspaces import ensure_workspace
from tests.discord.kit import ADMIN, ALICE, BOB, CAROL, FEED, GUILD, Discord


async def test_leaderboard_shows_mentions_but_pings_nobody(discord: Discord):
    await discord.send(discord.thanks(BOB, CAROL))
    await discord.send(discord.thanks(BOB, user=CAROL))
    answer = await discord.send(discord.command("leaderboard", [{"name": "period", "type": 3, "value": "all"}]))
    data = answer["data"]
    assert data["allowed_mentions"] == {"parse": [], "users": []}
    description = data["embeds"][0]["description"]
    assert f"**1.** <@{BOB}> — 2 thanks" in description
    assert f"**2.** <@{CAROL}> — 1 thank\\-you" in description  # Discord markdown escapes the hyphen
    sent = await discord.send(discord.command("leaderboard", [{"name": "direction", "type": 3, "value": "sent"}],
                                              locale="ja"))
    assert sent["data"]["embeds"][0]["title"] == "🏆 感謝したランキング"


async def test_leaderboard_by_department_and_unknown_department(discord: Discord):
    await discord.send(discord.admin("department-role", [{"name": "role", "type": 8, "value": "42"},
                                                        {"name": "department", "type": 3, "value": "Sales"}]))
    bob_thanks = discord.thanks(BOB)
    bob_thanks["data"]["resolved"]["members"][BOB]["roles"] = ["42"]
    await discord.send(bob_thanks)
    await discord.send(discord.thanks(CAROL))
    answer = await discord.send(discord.command("leaderboard", [{"name": "department", "type": 3, "value": "sales"}]))
    description = answer["data"]["embeds"][0]["description"]
    assert f"<@{BOB}>" in description and f"<@{CAROL}>" not in description
    unknown = await discord.send(discord.command("leaderboard", [{"name": "department", "type": 3, "value": "R&D"}]))
    assert unknown["data"]["flags"] == wire.EPHEMERAL and "no department" in unknown["data"]["content"]


async def test_values_and_help(discord: Discord):
    values = await discord.send(discord.command("values", locale="ja"))
    embed = values["data"]["embeds"][0]
    assert embed["title"] == "私たちのバリュー"
    assert embed["fields"][1]["name"] == "🙌 チームワーク / Teamwork"
    assert "flags" not in values["data"]
    help_ = await discord.send(discord.command("help"))
    assert help_["data"]["flags"] == wire.EPHEMERAL
    assert help_["data"]["embeds"][0]["fields"][0]["name"].startswith("/thanks")


ADMIN_COMMANDS = [
    ("feed-channel", [{"name": "channel", "type": 7, "value": FEED}]),
    ("department-role", [{"name": "role", "type": 8, "value": "42"}, {"name": "department", "type": 3, "value": "QA"}]),
    ("values-add", [{"name": "key", "type": 3, "value": "kindness"}, {"name": "name-en", "type": 3, "value": "Kind"}]),
    ("values-archive", [{"name": "value", "type": 3, "value": "growth"}]),
    ("settings", [{"name": "setting", "type": 3, "value": "daily_limit"},
                  {"name": "new-value", "type": 3, "value": "5"}]),
    ("settings", []),
    ("values-rename", [{"name": "value", "type": 3, "value": "growth"}, {"name": "name-en", "type": 3, "value": "X"}]),
    ("values-reorder", [{"name": "order", "type": 3, "value": "growth teamwork"}]),
    ("department-set", [{"name": "member", "type": 6, "value": BOB}, {"name": "department", "type": 3, "value": "QA"}]),
]


@pytest.mark.parametrize(("sub", "options"), ADMIN_COMMANDS, ids=[f"{s}-{len(o)}" for s, o in ADMIN_COMMANDS])
async def test_non_admins_are_refused_privately_and_nothing_changes(discord: Discord, sub, options):
    answer = await discord.send(discord.admin(sub, options, admin=False, user=ALICE, locale="ja"))
    assert answer["data"]["flags"] == wire.EPHEMERAL
    assert "管理者" in answer["data"]["content"]
    workspace = await Workspace.get(external_id=GUILD)
    assert workspace.feed_channel is None and workspace.daily_limit == 20
    assert await Department.all().count() == 0
    assert await Value.filter(active=True).count() == 5
    assert [v.key for v in await Value.all().order_by("position", "id")][:2] != ["growth", "teamwork"]
    assert not await Value.filter(name_en="X").exists()


async def test_admin_rights_follow_discord_permissions_on_each_interaction(discord: Discord):
    await discord.send(discord.admin("settings", [], admin=True, user=ALICE))
    assert (await Member.get(platform_user_id=ALICE)).platform_admin
    refused = await discord.send(discord.admin("settings", [], admin=False, user=ALICE))
    assert "Only an admin" in refused["data"]["content"]
    assert not (await Member.get(platform_user_id=ALICE)).may_administer
    administrator = discord.admin("settings", [], admin=False, user=ALICE)
    administrator["member"]["permissions"] = str(wire.ADMINISTRATOR)
    assert "embeds" in (await discord.send(administrator))["data"]


@pytest.mark.parametrize("permissions", [None, "", "not a number"])
async def test_missing_or_unreadable_permissions_mean_none(discord: Discord, permissions):
    await discord.send(discord.admin("settings", [], admin=True, user=ALICE))
    payload = discord.admin("settings", [], user=ALICE, locale="en")
    payload["member"]["permissions"] = permissions
    refused = await discord.send(payload)
    assert "Only an admin" in refused["data"]["content"]
    assert not (await Member.get(platform_user_id=ALICE)).may_administer
    assert (await discord.send(discord.command("values", user=ALICE)))["data"]["embeds"]


async def test_an_admin_granted_by_kizuna_stays_one_without_discord_permissions(discord: Discord):
    # e.g. from `kizuna members import`: Discord's permissions do not take Kizuna's own grant away.
    await discord.send(discord.admin("settings", [], admin=False, user=ALICE))
    await Member.filter(platform_user_id=ALICE).update(is_admin=True)
    answer = await discord.send(discord.admin("settings", [], admin=False, user=ALICE))
    assert "embeds" in answer["data"]
    assert (await Member.get(platform_user_id=ALICE)).is_admin


async def test_admin_sets_and_clears_the_feed_channel(discord: Discord):
    answer = await discord.send(discord.admin("feed-channel", [{"name": "channel", "type": 7, "value": FEED}]))
    assert answer["data"]["flags"] == wire.EPHEMERAL and "posted in this channel" in answer["data"]["content"]
    assert (await Workspace.get(external_id=GUILD)).feed_channel == FEED
    await discord.send(discord.admin("feed-channel"))
    assert (await Workspace.get(external_id=GUILD)).feed_channel is None


async def test_a_channel_or_role_option_that_is_not_an_id_is_refused_and_nothing_changes(discord: Discord):
    answer = await discord.send(discord.admin("feed-channel", [{"name": "channel", "type": 7, "value": "c" * 300}],
                                              locale="ja"))
    assert answer["data"]["flags"] == wire.EPHEMERAL and "チャンネルではありません" in answer["data"]["content"]
    answer = await discord.send(discord.admin("department-role", [{"name": "role", "type": 8, "value": "mods"},
                                                                  {"name": "department", "type": 3, "value": "Sales"}]))
    assert answer["data"]["flags"] == wire.EPHEMERAL
    assert "“mods” is not a role of this server" in answer["data"]["content"]
    # A command that cannot be built writes nothing at all, not even the server's first row.
    assert await Workspace.filter(external_id=GUILD, feed_channel__isnull=False).count() == 0
    assert await Department.all().count() == 0


async def test_admin_maps_a_role_to_a_department(discord: Discord):
    answer = await discord.send(discord.admin("department-role", [
        {"name": "role", "type": 8, "value": "42"}, {"name": "department", "type": 3, "value": "営業部"}], locale="ja"))
    assert "営業部" in answer["data"]["content"]
    department = await Department.get()
    assert department.platform_role_id == "42"
    with_role = discord.thanks(BOB, roles=("42",))
    await discord.send(with_role)
    assert (await Member.get(platform_user_id=ALICE)).department_id == department.id


async def test_admin_adds_and_archives_and_restores_values(discord: Discord):
    added = await discord.send(discord.admin("values-add", [
        {"name": "key", "type": 3, "value": "kindness"}, {"name": "name-en", "type": 3, "value": "Kindness"},
        {"name": "name-ja", "type": 3, "value": "思いやり"}, {"name": "emoji", "type": 3, "value": "💛"},
        {"name": "description", "type": 3, "value": "Being kind"}]))
    assert "#kindness" in added["data"]["content"].replace("\\", "")
    value = await Value.get(key="kindness")
    assert value.name_ja == "思いやり" and value.description_en == "Being kind"
    taken = await discord.send(discord.admin("values-add", [
        {"name": "key", "type": 3, "value": "kindness"}, {"name": "name-en", "type": 3, "value": "Other"}]))
    assert "already exists" in taken["data"]["content"]
    await discord.send(discord.admin("values-archive", [{"name": "value", "type": 3, "value": "思いやり"}]))
    assert not (await Value.get(key="kindness")).active
    refused = await discord.send(discord.thanks(BOB, value="kindness"))
    assert refused["data"]["flags"] == wire.EPHEMERAL
    await discord.send(discord.admin("values-archive", [{"name": "value", "type": 3, "value": "kindness"},
                                                        {"name": "restore", "type": 5, "value": True}]))
    assert (await Value.get(key="kindness")).active


async def test_admin_reads_and_changes_settings(discord: Discord):
    shown = await discord.send(discord.admin("settings", locale="ja"))
    fields = {f["name"]: f["value"] for f in shown["data"]["embeds"][0]["fields"]}
    assert fields["1人1日あたりの感謝の上限"] == "20 (`daily_limit`)"
    saved = await discord.send(discord.admin("settings", [{"name": "setting", "type": 3, "value": "leaderboard"},
                                                          {"name": "new-value", "type": 3, "value": "off"}]))
    assert saved["data"]["content"] == "Settings saved."
    assert not (await Workspace.get(external_id=GUILD)).leaderboard_enabled
    refused = await discord.send(discord.command("leaderboard"))
    assert "turned off" in refused["data"]["content"]
    bad = await discord.send(discord.admin("settings", [{"name": "setting", "type": 3, "value": "daily_limit"},
                                                        {"name": "new-value", "type": 3, "value": "lots"}]))
    assert bad["data"]["flags"] == wire.EPHEMERAL and "daily_limit" in bad["data"]["content"].replace("\\", "")
    half = await discord.send(discord.admin("settings", [{"name": "setting", "type": 3, "value": "daily_limit"}]))
    assert half["data"]["flags"] == wire.EPHEMERAL


async def test_department_autocomplete(discord: Discord):
    workspace = await ensure_workspace("discord", GUILD)
    admin = await ensure_member(workspace, ADMIN)
    admin.is_admin = True
    for name in ("Sales", "Support", "Engineering"):
        await ensure_department(workspace, name)
    answer = await discord.send(discord.interaction(wire.APPLICATION_COMMAND_AUTOCOMPLETE, {
        "id": "1", "name": "leaderboard", "type": 1,
        "options": [{"name": "department", "type": 3, "value": "s", "focused": True}]}))
    assert [c["value"] for c in answer["data"]["choices"]] == ["Sales", "Support"]


async def test_a_new_role_mapping_applies_at_once_to_members_seen_a_moment_ago(discord: Discord):
    await discord.send(discord.thanks(BOB, roles=("42",)))
    assert (await Member.get(platform_user_id=ALICE)).department_id is None
    await discord.send(discord.admin("department-role", [{"name": "role", "type": 8, "value": "42"},
                                                        {"name": "department", "type": 3, "value": "Sales"}]))
    await discord.send(discord.thanks(CAROL, roles=("42",)))
    assert (await Member.get(platform_user_id=ALICE)).department_id == (await Department.get()).id


def member_option(user: str) -> dict[str, Any]:
    return {"name": "member", "type": wire.OPT_USER, "value": user}


async def test_admin_renames_and_reorders_values(discord: Discord):
    renamed = await discord.send(discord.admin("values-rename", [
        {"name": "value", "type": 3, "value": "teamwork"}, {"name": "name-ja", "type": 3, "value": "連携"},
        {"name": "emoji", "type": 3, "value": "🤜"}], locale="ja"))
    assert renamed["data"]["flags"] == wire.EPHEMERAL and "teamwork" in renamed["data"]["content"]
    value = await Value.get(key="teamwork")
    assert (value.name_en, value.name_ja, value.emoji) == ("Teamwork", "連携", "🤜")
    reordered = await discord.send(discord.admin("values-reorder", [
        {"name": "order", "type": 3, "value": "growth, 連携"}]))
    assert reordered["data"]["flags"] == wire.EPHEMERAL
    shown = await discord.send(discord.command("values"))
    names = [f["name"] for f in shown["data"]["embeds"][0]["fields"]]
    assert names[0].startswith("🌱 Growth") and names[1].startswith("🤜 Teamwork")
    unknown = await discord.send(discord.admin("values-rename", [{"name": "value", "type": 3, "value": "nope"},
                                                                 {"name": "name-en", "type": 3, "value": "Nope"}]))
    assert unknown["data"]["flags"] == wire.EPHEMERAL and "nope" in unknown["data"]["content"]


async def test_admin_puts_a_member_in_a_department_and_takes_them_out(discord: Discord):
    answer = await discord.send(discord.admin("department-set", [
        member_option(BOB), {"name": "department", "type": 3, "value": "Sales"}], resolved=discord.resolved(BOB)))
    assert answer["data"]["flags"] == wire.EPHEMERAL and "Bob is now in Sales" in answer["data"]["content"]
    bob = await Member.get(platform_user_id=BOB)
    assert bob.display_name == "Bob" and bob.department_id == (await Department.get(name="Sales")).id
    await discord.send(discord.admin("department-set", [member_option(BOB)], resolved=discord.resolved(BOB)))
    assert (await Member.get(platform_user_id=BOB)).department_id is None
    refused = await discord.send(discord.admin("department-set", [member_option("everyone")]))
    assert refused["data"]["flags"] == wire.EPHEMERAL and "I do not know" in refused["data"]["content"]


async def test_a_refused_admin_command_writes_not_even_the_member_it_names(discord: Discord):
    answer = await discord.send(discord.admin("department-set", [
        member_option(CAROL), {"name": "department", "type": 3, "value": "Sales"}], admin=False, user=ALICE,
        resolved=discord.resolved(CAROL)))
    assert "Only an admin" in answer["data"]["content"]
    assert not await Member.filter(platform_user_id=CAROL).exists()


async def test_department_autocomplete_covers_merge_and_rename(discord: Discord):
    workspace = await ensure_workspace("discord", GUILD)
    for name in ("Sales", "Support"):
        await ensure_department(workspace, name)
    for sub, option in (("department-merge", "into"), ("department-merge", "from"), ("department-rename", "department"),
                        ("department-set", "department")):
        answer = await discord.send(discord.interaction(wire.APPLICATION_COMMAND_AUTOCOMPLETE, {
            "id": "1", "name": "kizuna", "type": 1, "options": [{"name": sub, "type": 1, "options": [
                {"name": option, "type": 3, "value": "su", "focused": True}]}]}, user=ADMIN, admin=True))
        assert [c["value"] for c in answer["data"]["choices"]] == ["Support"], (sub, option)


def test_kizuna_registers_every_admin_subcommand_in_both_languages():
    [kizuna] = [c for c in command_definitions() if c["name"] == "kizuna"]
    subs = {o["name"]: o for o in kizuna["options"]}
    assert {"values-rename", "values-reorder", "department-set", "department-rename", "department-merge",
            "admin-grant", "admin-revoke", "admins"} <= set(subs)
    assert subs["department-merge"]["name_localizations"]["ja"] == "部署統合"
    assert subs["admin-grant"]["options"][0]["type"] == wire.OPT_USER
    assert validate.check_commands(command_definitions()) == []


needs_admin_services = pytest.mark.skipif(
    not (hasattr(admins, "grant_admin") and hasattr(members, "rename_department")),
    reason="the admin and department services are not in this tree yet")


@needs_admin_services
async def test_admin_renames_and_merges_departments(discord: Discord):
    workspace = await ensure_workspace("discord", GUILD)
    for name in ("Sales", "Support", "QA"):
        await ensure_department(workspace, name)
    renamed = await discord.send(discord.admin("department-rename", [
        {"name": "department", "type": 3, "value": "Sales"}, {"name": "new-name", "type": 3, "value": "営業"}]))
    assert renamed["data"]["flags"] == wire.EPHEMERAL and "営業" in renamed["data"]["content"]
    assert await Department.filter(name="営業").exists()
    merged = await discord.send(discord.admin("department-merge", [
        {"name": "from", "type": 3, "value": "QA"}, {"name": "into", "type": 3, "value": "Support"}]))
    assert merged["data"]["flags"] == wire.EPHEMERAL and "QA" in merged["data"]["content"]
    assert sorted(d.name for d in await Department.all()) == ["Support", "営業"]


@needs_admin_services
async def test_admin_grants_lists_and_revokes_admins(discord: Discord):
    granted = await discord.send(discord.admin("admin-grant", [member_option(BOB)], resolved=discord.resolved(BOB)))
    assert "Bob is now an admin" in granted["data"]["content"]
    assert (await Member.get(platform_user_id=BOB)).is_admin
    listed = await discord.send(discord.admin("admins"))
    assert listed["data"]["flags"] == wire.EPHEMERAL and "Bob" in str(listed["data"])
    # Bob's new right counts on his very next interaction.
    assert "embeds" in (await discord.send(discord.admin("settings", admin=False, user=BOB)))["data"]
    revoked = await discord.send(discord.admin("admin-revoke", [member_option(BOB)], resolved=discord.resolved(BOB)))
    assert "Bob is no longer an admin" in revoked["data"]["content"]
    refused = await discord.send(discord.admin("settings", admin=False, user=BOB))
    assert "Only an admin" in refused["data"]["content"]
