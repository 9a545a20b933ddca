"""The interactions endpoint: signatures, PING, malformed requests, and /thanks end to end."""

from __future__ import annotations

import json
import time
from datetime import UTC

import pytest

from adapters.discord import wire
from core.models import Delivery, Member, Thanks
from core.services.workspaces import ensure_workspace
from tests.discord.kit import ALICE, BOB, BOT, CAROL, CHANNEL, DAVE, GUILD, Discord, clap_id


async def test_ping_is_answered_with_pong(discord: Discord):
    assert await discord.send({"type": wire.PING, "id": "1", "application_id": "1", "token": "t"}) == {"type": 1}


@pytest.mark.parametrize(("age", "status"), [(-240, 200), (240, 200), (-600, 401), (600, 401), (None, 401)])
async def test_a_signed_request_is_refused_when_its_timestamp_is_stale(discord: Discord, age, status):
    body = json.dumps({"type": wire.PING}).encode()
    stamp = "nan" if age is None else str(int(time.time()) + age)
    got, _ = await discord.post_raw(body, discord.sign(body, stamp))
    assert got == status


@pytest.mark.parametrize("tamper", ["body", "timestamp", "signature", "missing_signature", "missing_timestamp",
                                    "not_hex", "short", "other_key"])
async def test_bad_or_missing_signature_is_401(discord: Discord, tamper: str):
    body = json.dumps({"type": wire.PING}).encode()
    headers = discord.sign(body, "1700000000")
    if tamper == "body":
        body = body.replace(b"1", b"2")
    elif tamper == "timestamp":
        headers["X-Signature-Timestamp"] = "1700000001"
    elif tamper == "signature":
        sig = headers["X-Signature-Ed25519"]
        headers["X-Signature-Ed25519"] = ("0" if sig[0] != "0" else "1") + sig[1:]
    elif tamper == "missing_signature":
        del headers["X-Signature-Ed25519"]
    elif tamper == "missing_timestamp":
        del headers["X-Signature-Timestamp"]
    elif tamper == "not_hex":
        headers["X-Signature-Ed25519"] = "zz" * 64
    elif tamper == "short":
        headers["X-Signature-Ed25519"] = headers["X-Signature-Ed25519"][:64]
    elif tamper == "other_key":
        from nacl.signing import SigningKey

        headers["X-Signature-Ed25519"] = SigningKey.generate().sign(b"1700000000" + body).signature.hex()
    status, _ = await discord.post_raw(body, headers)
    assert status == 401


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b'{"type": 99}', b'{"no": "type"}',
                                  b'{"type": 2, "id": "1", "token": "t", "application_id": "1"}',
                                  b'{"type": 3, "id": "1", "token": "t", "application_id": "1", "data": {}}',
                                  b"\xff\xfe"])
async def test_malformed_interactions_get_a_clear_400(discord: Discord, body: bytes):
    status, answer = await discord.post_raw(body, discord.sign(body))
    assert status == 400
    assert "error" in answer


@pytest.mark.parametrize("depth", [1000, 100_000])
async def test_an_interaction_nested_too_deeply_gets_400_signed_or_not_and_no_traceback(discord: Discord, caplog,
                                                                                       depth):
    # json.loads recursed once per level: RecursionError, a 503 and a traceback for a signed body.
    payload = discord.thanks(BOB) | {"locale": "@"}
    body = json.dumps(payload).replace('"@"', "{\"a\":" * depth + "1" + "}" * depth).encode()
    assert await discord.post_raw(body, discord.sign(body)) == (400, {"error": "the body nests more than 100 "
                                                                               "levels deep"})
    unsigned = discord.sign(b"something else")
    assert (await discord.post_raw(body, unsigned))[0] == 401
    assert not [r for r in caplog.records if r.exc_info]
    assert await Thanks.all().count() == 0


def _set(payload: dict, path: str, value) -> dict:
    *parents, last = path.split(".")
    target = payload
    for key in parents:
        target = target[key] if not key.isdigit() else target[int(key)]
    target[last] = value
    return payload


@pytest.mark.parametrize(("path", "value", "error"), [
    ("locale", 1.0, "malformed locale"),
    ("guild_locale", ["ja"], "malformed guild_locale"),
    ("channel_id", 555, "malformed channel_id"),
    ("member.nick", 5, "malformed member"),
    ("member.roles", "1,2", "malformed member"),
    ("member.roles", [1], "malformed member"),
    ("member.permissions", 32, "malformed member"),
    ("member.user.global_name", {}, "malformed member"),
    ("message", [], "malformed message"),
    ("message", {"id": "1", "embeds": ["late"]}, "malformed message"),
    ("data.options", [None], "malformed command"),
    ("data.options", ["user"], "malformed command"),
    ("data.options.0.name", 6, "malformed command"),
    ("data.options.0.options", {}, "malformed command"),
    ("data.resolved", [], "malformed resolved"),
    ("data.resolved.users", {"1002": "bob"}, "malformed resolved"),
    ("data.resolved.members", {"1002": {"roles": None}}, "malformed resolved"),
])
async def test_interaction_fields_of_the_wrong_type_get_a_400_that_names_them(discord: Discord, path, value, error):
    payload = _set(discord.thanks(BOB), path, value)
    body = json.dumps(payload).encode()
    status, answer = await discord.post_raw(body, discord.sign(body))
    assert (status, answer) == (400, {"error": error})
    assert await Thanks.all().count() == 0


@pytest.mark.parametrize(("path", "value", "error"), [
    ("id", "9" * 100_000, "malformed id"),  # was stored as given: a database error on PostgreSQL
    ("application_id", "app", "malformed application_id"),
    ("guild_id", "a" * 300, "malformed guild_id"),
    ("guild_id", "", "malformed guild_id"),
    ("channel_id", "general", "malformed channel_id"),
    ("member.user.id", "1" * 21, "malformed member"),
    ("member.roles", ["moderators"], "malformed member"),
    ("data.resolved.users", {"bob": {"id": "bob"}}, "malformed resolved"),
    ("data.resolved.members", {"1002": {"roles": ["x" * 70]}}, "malformed resolved"),
])
async def test_ids_that_are_not_snowflakes_get_a_400_that_names_them(discord: Discord, path, value, error):
    # Discord ids are strings of digits; anything else would reach the database as an id (a workspace, a
    # member, a role) and could be longer than its column.
    payload = _set(discord.thanks(BOB), path, value)
    body = json.dumps(payload).encode()
    status, answer = await discord.post_raw(body, discord.sign(body))
    assert (status, answer) == (400, {"error": error})
    assert await Thanks.all().count() == 0


async def test_a_user_command_on_a_target_that_is_not_a_snowflake_gets_a_400(discord: Discord):
    data = {"id": "2", "name": "Send thanks", "type": wire.USER_COMMAND, "target_id": "x" * 300}
    body = json.dumps(discord.interaction(wire.APPLICATION_COMMAND, data)).encode()
    assert await discord.post_raw(body, discord.sign(body)) == (400, {"error": "malformed command"})


async def test_a_null_resolved_is_read_as_nothing_resolved(discord: Discord):
    data = {"id": "2", "name": "Send thanks", "type": wire.USER_COMMAND, "target_id": BOB, "resolved": None}
    answer = await discord.send(discord.interaction(wire.APPLICATION_COMMAND, data))
    assert answer["type"] == wire.MODAL  # the thanks form, not the internal-error apology
    payload = discord.thanks(BOB)
    payload["data"]["resolved"] = None
    answer = await discord.send(payload)
    assert answer["type"] == wire.CHANNEL_MESSAGE_WITH_SOURCE and await Thanks.all().count() == 1


async def test_thanks_with_every_option_posts_a_public_embed(discord: Discord):
    payload = discord.thanks(BOB, CAROL, DAVE, message="great release notes", value="teamwork")
    answer = await discord.send(payload)
    assert answer["type"] == wire.CHANNEL_MESSAGE_WITH_SOURCE
    data = answer["data"]
    assert "flags" not in data
    embed = data["embeds"][0]
    assert embed["title"] == "🎉 Alice sent thanks"
    assert embed["description"] == "great release notes"
    assert embed["fields"][0]["value"] == f"<@{BOB}>, <@{CAROL}>, <@{DAVE}>"
    assert embed["fields"][1]["value"] == "🙌 Teamwork"
    assert data["allowed_mentions"] == {"parse": [], "users": [BOB, CAROL, DAVE]}
    thanks = await Thanks.get()
    # When: the embed's timestamp, which Discord shows by the footer in each reader's own zone.
    assert embed["footer"]["text"] == "👏 0 claps"
    assert embed["timestamp"] == thanks.created_at.astimezone(UTC).replace(microsecond=0).isoformat()
    assert clap_id(answer) == f"kizuna:clap:thanks_id={thanks.id}:en"
    assert thanks.idempotency_key == f"discord:{payload['id']}"
    assert thanks.channel_ref == CHANNEL


async def test_nul_and_lone_surrogates_in_an_interaction_are_dropped_or_replaced(discord: Discord):
    # PostgreSQL cannot store a NUL; no encoding can write a lone surrogate. JSON can spell both.
    payload = discord.thanks(BOB, message="great\x00 notes \ud800")
    payload["member"]["nick"] = "Ali\x00ce"
    answer = await discord.send(payload)
    assert answer["data"]["embeds"][0]["description"] == "great notes \ufffd"
    assert (await Thanks.get()).message == "great notes \ufffd"
    assert (await Member.get(platform_user_id=ALICE)).display_name == "Alice"


async def test_replies_follow_the_interaction_locale(discord: Discord):
    answer = await discord.send(discord.thanks(BOB, value="チームワーク", locale="ja"))
    embed = answer["data"]["embeds"][0]
    assert embed["title"] == "🎉 Alice さんから感謝が届きました"
    assert embed["fields"][1]["value"] == "🙌 チームワーク"
    error = await discord.send(discord.thanks(ALICE, locale="ja"))
    assert "自分自身" in error["data"]["content"]
    error = await discord.send(discord.thanks(ALICE, locale="en-US"))
    assert "cannot thank yourself" in error["data"]["content"]


async def test_the_same_interaction_twice_makes_one_thanks(discord: Discord):
    payload = discord.thanks(BOB)
    first = await discord.send(payload)
    second = await discord.send(payload)
    assert await Thanks.all().count() == 1
    assert clap_id(first) == clap_id(second)


@pytest.mark.parametrize(("make", "text"), [
    (lambda d: d.thanks(ALICE), "cannot thank yourself"),
    (lambda d: d.thanks(BOT), "bot"),
    (lambda d: d.thanks(BOB, message="   "), "add a message"),
    (lambda d: d.thanks(BOB, message="x" * 501), "limit is 500"),
    (lambda d: d.thanks(BOB, value="nope"), "no value"),
    (lambda d: d.command("frobnicate"), "did not understand"),
])
async def test_core_errors_are_ephemeral_localised_replies(discord: Discord, make, text):
    answer = await discord.send(make(discord))
    assert answer["type"] == wire.CHANNEL_MESSAGE_WITH_SOURCE
    assert answer["data"]["flags"] == wire.EPHEMERAL
    assert text in answer["data"]["content"]
    assert await Thanks.all().count() == 0


@pytest.mark.parametrize("user", ["abc", "x" * 300, "<@1002>"])
async def test_a_user_option_that_is_not_a_user_id_is_an_unknown_person(discord: Discord, user):
    payload = discord.command("thanks", [{"name": "user", "type": wire.OPT_USER, "value": user},
                                         {"name": "message", "type": wire.OPT_STRING, "value": "hi"}])
    answer = await discord.send(payload)
    assert answer["data"]["flags"] == wire.EPHEMERAL
    assert "I do not know" in answer["data"]["content"]
    assert await Thanks.all().count() == 0
    # Nobody is written for it (a command that cannot be built does not even read its caller).
    assert {m.platform_user_id for m in await Member.all()} <= {ALICE}


async def test_daily_limit_is_an_ephemeral_reply(discord: Discord):
    workspace = await ensure_workspace("discord", GUILD)
    workspace.daily_limit = 1
    await workspace.save()
    await discord.send(discord.thanks(BOB))
    answer = await discord.send(discord.thanks(CAROL))
    assert answer["data"]["flags"] == wire.EPHEMERAL
    assert "daily limit" in answer["data"]["content"]


async def test_user_text_cannot_ping_everyone_here_or_roles(discord: Discord):
    answer = await discord.send(discord.thanks(BOB, message="@everyone @here <@&123> **bold** <@1004> [x](http://a)"))
    data = answer["data"]
    assert data["allowed_mentions"] == {"parse": [], "users": [BOB]}
    description = data["embeds"][0]["description"]
    assert "<@&123>" not in description and "@everyone" not in description and "<@1004>" not in description
    assert "**" not in description.replace("\\*", "")


async def test_long_text_is_truncated_within_discords_limits(discord: Discord):
    workspace = await ensure_workspace("discord", GUILD)
    workspace.max_message_length = 4000
    await workspace.save()
    answer = await discord.send(discord.thanks(BOB, message="*_" * 2000))
    description = answer["data"]["embeds"][0]["description"]
    assert len(description) <= 4096 and description.endswith("…")


async def test_direct_messages_are_told_to_use_a_server(discord: Discord):
    answer = await discord.send(discord.thanks(BOB, guild=None, locale="ja"))
    assert answer["data"]["flags"] == wire.EPHEMERAL
    assert "サーバー" in answer["data"]["content"]


async def test_members_are_known_by_their_discord_names(discord: Discord):
    await discord.send(discord.thanks(BOB))
    bob = await Member.get(platform_user_id=BOB)
    assert bob.display_name == "Bob"
    alice = await Member.get(platform_user_id=ALICE)
    assert alice.locale == "en" and not alice.may_administer


async def test_thanks_outside_the_feed_channel_is_queued_for_the_feed(discord: Discord):
    workspace = await ensure_workspace("discord", GUILD)
    workspace.feed_channel = "555000000000000002"
    await workspace.save()
    await discord.send(discord.thanks(BOB))
    delivery = await Delivery.get()
    assert delivery.address_key == "channel:555000000000000002"
    await discord.send(discord.thanks(BOB, channel="555000000000000002"))
    assert await Delivery.all().count() == 1
