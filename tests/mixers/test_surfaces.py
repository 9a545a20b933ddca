"""Mixer commands typed in the console (ja/en), and ``kizuna mixer run-due`` printing the groups."""

from __future__ import annotations

import io

import pytest

from adapters.console import ConsoleSession
from cards.text import render_text
from core.app import mixer_commands as mc
from core.app.grammar import parse
from core.mixers.models import Mixer, MixerParticipant
from core.services.members import ensure_member
from kizuna.cli import main


def test_the_grammar_reads_mixer_commands_in_both_languages():
    assert parse("mixer create Lunch start=2030-12-04 12:00 size=3 place=Tokyo office") == mc.CreateMixer(
        "Lunch", "2030-12-04 12:00", None, "3", "Tokyo office", None, None)
    assert parse("ミキサー 作成 ランチ 開始＝2030-12-04 12:00 人数=5") == mc.CreateMixer(
        "ランチ", "2030-12-04 12:00", None, "5", "", None, None)
    assert parse("ミキサー 参加 1") == mc.JoinMixer("1")
    assert parse("mixer pause #2 2030-12-31") == mc.PauseMixer("2", "2030-12-31")
    assert parse("シャッフルランチ スキップ 3") == mc.SkipMixerRound("3")
    assert parse("mixer invite 1 Sales Ops") == mc.InviteDepartment("1", "Sales Ops")
    assert parse("mixer") == mc.ListMixers()


async def say(workspace, member, line, locale="en"):
    return render_text(await ConsoleSession(workspace, member, locale).handle(line))


async def test_create_join_twice_pause_in_the_past_and_bad_size_in_the_console(workspace, alice, bob):
    text = await say(workspace, alice, "mixer create Lunch start=2030-12-04 12:00 size=9")
    assert "from 2 to 6" in text and await Mixer.all().count() == 0
    text = await say(workspace, alice, "ミキサー 作成 ランチ 開始=2030-12-04 12:00 人数=9", "ja")
    assert "2〜6" in text
    text = await say(workspace, alice, "mixer create Lunch start=2030-12-04 12:00 size=3")
    assert "Mixer #1 “Lunch” created" in text and "groups of 3" in text
    assert (await Mixer.get()).channel == "console"
    assert "You joined “Lunch”" in await say(workspace, bob, "mixer join 1")
    assert "already joined" in await say(workspace, bob, "mixer join 1")
    assert "すでに参加" in await say(workspace, bob, "ミキサー 参加 1", "ja")
    assert "in the past" in await say(workspace, bob, "mixer pause 1 2020-01-01")
    assert "until 2031-01-10" in await say(workspace, bob, "mixer pause 1 2031-01-10")
    assert (await MixerParticipant.get()).paused_until.isoformat() == "2031-01-10"
    assert "left" in await say(workspace, bob, "mixer leave 1")
    assert "There is no mixer #7" in await say(workspace, bob, "mixer show 7")
    assert "Only an admin" in await say(workspace, bob, "mixer invite 1 Sales")


@pytest.fixture
def kizuna(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KIZUNA_DATABASE_URL", f"sqlite://{tmp_path}/k.sqlite3")
    monkeypatch.setenv("KIZUNA_ADAPTERS", "discord")
    monkeypatch.delenv("DISCORD_PUBLIC_KEY", raising=False)

    def run(*argv: str) -> tuple[int, str]:
        out = io.StringIO()
        return main(list(argv), out), out.getvalue()

    return run


@pytest.mark.sqlite_only
def test_run_due_forms_and_prints_the_groups_once(kizuna, tmp_path):
    from core.db import run_with_database
    from core.services.workspaces import ensure_workspace

    assert kizuna("migrate")[0] == 0

    async def seed() -> int:
        workspace = await ensure_workspace("console", "demo", default_locale="en")
        workspace.timezone = "UTC"
        await workspace.save()
        alice = await ensure_member(workspace, "alice", display_name="Alice")
        session = ConsoleSession(workspace, alice, "en")
        await session.handle("mixer create Lunch start=2030-12-04 12:00 size=2 announce=1d")
        for name in ("Alice", "Bob", "Carol", "Dave", "Erin"):
            member = await ensure_member(workspace, name.lower(), display_name=name)
            await ConsoleSession(workspace, member, "en").handle("mixer join 1")
        return 0

    assert run_with_database(f"sqlite://{tmp_path}/k.sqlite3", seed) == 0
    code, early = kizuna("mixer", "run-due", "--now", "2030-12-02T12:00:00Z", "--force")
    assert code == 0 and "0 rounds formed" in early
    code, dry = kizuna("mixer", "run-due", "--now", "2030-12-03T12:00:00Z")
    assert code == 0 and "dry run" in dry and "mixer #1 Lunch: round 2030-12-04T12:00" in dry
    code, text = kizuna("mixer", "run-due", "--now", "2030-12-03T12:00:00Z", "--force")
    assert code == 0 and "1 rounds formed" in text and "--- channel:console" in text
    assert "Lunch: this round's groups" in text and text.count("Group ") == 2  # 5 people: 3 + 2, nobody alone
    for name in ("Alice", "Bob", "Carol", "Dave", "Erin"):
        assert text.count(name) == 1
    code, again = kizuna("mixer", "run-due", "--now", "2030-12-03T12:05:00Z", "--force")
    assert code == 0 and "0 rounds formed" in again and "channel:console" not in again


async def test_the_day_reminder_and_we_met_in_the_console(workspace, alice, bob, carol, capsys):
    from datetime import UTC, datetime

    from core.mixers import scheduler
    from core.mixers.models import MixerGroupMember
    from core.models import Delivery

    workspace.timezone = "UTC"
    await workspace.save()
    await say(workspace, alice, "mixer create Lunch start=2030-12-04 12:00 size=2")
    for person in (alice, bob):
        await say(workspace, person, "mixer join 1")
    [formed] = (await scheduler.run_due(datetime(2030, 12, 3, 12, 0, tzinfo=UTC))).formed
    assert (await scheduler.run_due(datetime(2030, 12, 4, 10, 59, tzinfo=UTC))).reminded == []
    assert (await scheduler.run_due(datetime(2030, 12, 4, 11, 0, tzinfo=UTC))).reminded == [formed]
    assert await Delivery.filter(kind="mixer_day").count() == 1
    text = await say(workspace, bob, f"mixer met {formed} yes")
    assert "noted that your group met" in text and "thanks @Alice" in text
    assert "会えたことを記録" in await say(workspace, alice, f"ミキサー 報告 {formed} 会えた", "ja")
    assert "is not an answer" in await say(workspace, alice, f"mixer met {formed} maybe")
    assert "not in a group" in await say(workspace, carol, f"mixer met {formed} yes")
    answers = sorted(await MixerGroupMember.filter(group__round_id=formed).values_list("met", flat=True))
    assert answers == [True, True]
