"""Property-based robustness of the interactions endpoint: surprising interactions are answered, never crashed on.

Hypothesis builds correctly signed interactions with surprising shapes (unknown commands and
subcommands, options missing or of another type, ids that name nobody, junk custom ids, modal
submits without their fields, odd autocomplete values, no member or guild) and posts them through
the real app. Whatever comes in:

* the HTTP status is never a server error (>= 500);
* no answer, and nothing sent to the fake Discord API, carries a traceback or a Python exception
  name (unless the request itself contained that word);
* nothing fails unexpectedly inside: no exception is logged and nobody gets the "something went
  wrong on our side" apology (bad input deserves the clear message the code has for it);
* every 200 answer passes the Discord limits validator, and so does every message sent to the
  fake API (follow-ups of deferred answers included).

Interactions whose every field has the type Discord gives it must moreover be answered (200): an
odd value is the user's to hear about, not a request to refuse. Fields of the wrong type may get
a 400 that says which.

The app, its database and the fake API live for one test; the examples share them, so what earlier
examples left (thanks, meetings, members) is part of what later ones meet. ``KIZUNA_FUZZ_EXAMPLES``
sets the number of examples (60 by default), and ``--hypothesis-show-statistics`` shows what they
reached.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.discord import validate, wire
from adapters.discord.handlers import THANKS_FORM
from adapters.discord.meetings import MEETING_THANKS_FORM
from core.meetings.models import Meeting
from core.models import Thanks
from tests.discord.kit import ADMIN, ALICE, BOB, BOT, CAROL, CHANNEL, DAVE, Discord, FakeDiscord
from tests.fuzzing import FUZZ, assert_clean, assert_nothing_failed, tally

# ---- strategies ---------------------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=6)
sometimes = st.sampled_from([True, False, False, False])
seldom = st.sampled_from([True, False, False, False, False, False, False, False])
odd_strings = st.sampled_from([
    "", " ", "a\x00b", "\ud800", "x\udfff", "\x00", "\n", "@everyone", "<@1002>", "<@&1>", "#teamwork",
    "teamwork", "チームワーク", "👏", "🙌🏽", "👨\u200d👩\u200d👧", "\u202e", "-1", "0", "1", "9" * 30, "1e400",
    "null", "{}", "%", "%zz", "%3A", "=", "&", ":", "::", "'", "\\", "{name}", "**bold**", "2030-12-02",
    "2030-12-02 10:00", "2030-02-30 25:00", "Asia/Tokyo", "Mars/Olympus", "1d,15m", "0m", "weekly",
    "monthly-nth-weekday", "month", "received", "sent", "locale", "timezone", "daily_limit", "max_message_length",
    "value_required", "leaderboard", "ja", "en", "Sales",
])
# Longer than the columns they may end in (value keys 64, department names 100, ids 255) and Discord's limits.
long_strings = st.sampled_from(["k" * 65, "d" * 101, "i" * 256, "m" * 4001])
texty = odd_strings | st.text(max_size=30) | long_strings
# Ids as Discord writes them (strings of digits), people the suite knows first.
ids = st.sampled_from([ALICE, BOB, CAROL, DAVE, ADMIN, BOT, CHANNEL, "0", "1", "9" * 20]) \
    | st.from_regex(r"[0-9]{1,20}", fullmatch=True)
# Strings where an id belongs that name nobody (a user option holding "abc" is still a string).
not_ids = st.sampled_from(["", "-1", "9" * 25, "abc", "<@1002>", "1 2"]) | texty
people = st.sampled_from([ALICE, BOB, CAROL, ADMIN])
kinds = st.sampled_from([wire.APPLICATION_COMMAND, wire.MESSAGE_COMPONENT, wire.APPLICATION_COMMAND_AUTOCOMPLETE,
                         wire.MODAL_SUBMIT])
KIZUNA_OPTIONS = {"feed-channel": ["channel"], "department-role": ["role", "department"],
                  "values-add": ["key", "name-en", "name-ja", "emoji", "description"],
                  "values-archive": ["value", "restore"], "settings": ["setting", "new-value"]}
MEETING_OPTIONS = {"create": ["title", "start", "repeat", "timezone", "remind", "departments", "place", "channel",
                              "agenda", "duration", "event"],
                   "list": [], "skip": ["meeting", "date"], "cancel": ["meeting"], "rsvps": ["meeting", "date"],
                   "edit": ["meeting", "title", "start", "repeat", "timezone", "remind", "departments", "place",
                            "channel", "agenda", "duration"]}
ALL_OPTIONS = sorted({"user", "user2", "user3", "message", "value", "period", "department", "direction",
                      *(o for opts in (*KIZUNA_OPTIONS.values(), *MEETING_OPTIONS.values()) for o in opts)})
_DELETE = object()


def interactions(*, wrong_types: bool) -> st.SearchStrategy[dict[str, Any]]:
    """The parts of an interaction: kind, data, who, and changes to the envelope (see ``build``).

    Values are surprising either way (unknown names, missing options, strings that are no id, long
    or odd text); with ``wrong_types``, fields are sometimes of a type Discord never sends.
    """

    def typed(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        """``strategy``; with ``wrong_types``, one time in eight any JSON value instead."""
        return st.one_of(*[strategy] * 7, junk) if wrong_types else strategy

    option_value = st.one_of(ids, not_ids, st.integers(-5, 10 ** 6), st.booleans())

    def option(name: str, kind: int, value: Any, focused: bool) -> dict[str, Any]:
        return {"name": name, "type": kind, "value": value, **({"focused": True} if focused else {})}

    def options_named(names: st.SearchStrategy[str]) -> st.SearchStrategy[list[Any]]:
        one = st.builds(option, names, st.sampled_from([3, 4, 5, 6, 7, 8, 10]), option_value,
                        st.sampled_from([False, False, True]))
        return st.lists(typed(one), max_size=4, unique_by=lambda o: str(o.get("name") if isinstance(o, dict) else o))

    def subcommand(known: dict[str, list[str]]) -> st.SearchStrategy[list[Any]]:
        names = st.sampled_from(sorted(known)) | st.sampled_from(["", "frobnicate"])
        return names.flatmap(lambda name: st.builds(
            lambda opts: [{"name": name, "type": wire.OPT_SUB_COMMAND, "options": opts}],
            options_named(st.sampled_from(known.get(name) or ["meeting"]) | st.sampled_from(ALL_OPTIONS))))

    def resolved_of(user_ids: list[Any]) -> dict[str, Any]:
        users = {str(u): {"id": u, "username": f"u{u}", "global_name": None, **({"bot": True} if u == BOT else {})}
                 for u in user_ids}
        return {"users": users, "members": {str(u): {"nick": None, "roles": [], "permissions": "0"}
                                            for u in user_ids}}

    resolved = typed(st.builds(resolved_of, st.lists(typed(ids), max_size=3)))

    def command(name: str, kind: int, opts: Any, resolved: Any, target: Any) -> dict[str, Any]:
        return {"id": "1", "name": name, "type": kind, "options": opts, "resolved": resolved,
                **({"target_id": target} if target is not None else {})}

    kind_of_command = st.sampled_from([wire.CHAT_INPUT, wire.CHAT_INPUT, wire.CHAT_INPUT, wire.USER_COMMAND, 3, 9])
    any_name = st.sampled_from(["thanks", "leaderboard", "values", "help", "kizuna", "meeting", "Send thanks",
                                "THANKS", "", "_dispatch", "__init__", "frobnicate"]) | st.text(max_size=10)
    commands = st.one_of(
        st.builds(command, st.just("thanks"), kind_of_command,
                  options_named(st.sampled_from(["user", "message", "value", "user2", "user3"])), resolved, st.none()),
        st.builds(command, st.just("kizuna"), kind_of_command, subcommand(KIZUNA_OPTIONS), resolved, st.none()),
        st.builds(command, st.just("meeting"), kind_of_command, subcommand(MEETING_OPTIONS), resolved, st.none()),
        st.builds(command, st.sampled_from(["leaderboard", "values", "help"]), kind_of_command,
                  options_named(st.sampled_from(["period", "department", "direction"])), resolved, st.none()),
        st.builds(command, st.just("Send thanks"), st.sampled_from([wire.USER_COMMAND, wire.CHAT_INPUT]),
                  st.just([]), resolved, st.none() | ids | (not_ids if wrong_types else st.nothing())),
        st.builds(command, any_name, kind_of_command, options_named(st.sampled_from(ALL_OPTIONS) | st.text(max_size=8)),
                  resolved, st.none()),
    )

    def custom_id(prefix: str, kind: str, pairs: list[tuple[str, str]], locale: str) -> str:
        return f"{prefix}:{kind}:{'&'.join(f'{k}={v}' for k, v in pairs)}:{locale}"

    custom_ids = st.one_of(
        st.builds(custom_id, st.sampled_from(["kizuna", "kizuna", "kizuna", "Kizuna", ""]),
                  st.sampled_from(["clap", "clap", "rsvp", "rsvp", "rsvps", "thank_attendees", "", "frobnicate"]),
                  st.lists(st.tuples(st.sampled_from(["thanks_id", "meeting_id", "occurrence", "answer", "", "x"]),
                                     st.sampled_from(["1", "2", "0", "-1", "9" * 30, "2147483648", "abc", "",
                                                      "2030-12-02T10:00", "yes", "no", "maybe", "%zz", "%E2%9C%93"])
                                     | st.text(max_size=8)), max_size=4),
                  st.sampled_from(["en", "ja", "", "fr", "EN"]) | st.text(max_size=4)),
        texty | st.text(min_size=90, max_size=200),
        st.builds(lambda suffix: THANKS_FORM + suffix, ids | not_ids),
    )
    components = st.fixed_dictionaries(
        {"custom_id": custom_ids},
        optional={"component_type": st.sampled_from([wire.BUTTON, wire.STRING_SELECT, wire.USER_SELECT, 99]),
                  "values": st.lists(ids | texty, max_size=3)})

    def field(custom: str, value: Any, style: str) -> dict[str, Any]:
        inner = {"type": wire.TEXT_INPUT, "custom_id": custom, ("values" if style == "values" else "value"): value}
        if style == "row":
            return {"type": wire.ACTION_ROW, "components": [inner]}
        return {"type": wire.LABEL, "id": 1, "component": inner}

    modals = st.fixed_dictionaries(
        {"custom_id": st.one_of(st.builds(lambda s: THANKS_FORM + s, ids | not_ids),
                                st.builds(lambda s: MEETING_THANKS_FORM + s, ids | not_ids), texty)},
        optional={"components": st.lists(typed(st.builds(
            field, st.sampled_from(["message", "value", "people", "", "other"]),
            texty | st.lists(ids | not_ids, max_size=3), st.sampled_from(["label", "row", "values"]))), max_size=4),
            "resolved": resolved})

    snowflake_field = st.one_of(*[ids] * 6, not_ids, junk) if wrong_types else ids

    @st.composite
    def envelope(draw: st.DrawFn) -> dict[str, Any]:
        """Changes to who asks and where (applied on top of a well-formed interaction)."""
        changes: dict[str, Any] = {}
        if draw(seldom):
            changes["locale"] = draw(typed(st.sampled_from(["ja", "en-US", "en-GB", "fr", "", "x", "ja_JP", "-"])))
        if draw(seldom):
            changes["guild_locale"] = draw(typed(st.sampled_from(["ja", "en-US", "", "zz"])))
        if draw(seldom):
            changes["channel_id"] = draw(snowflake_field)
        if draw(seldom):
            changes["message"] = draw(typed(st.fixed_dictionaries({"id": ids}, optional={
                "embeds": st.lists(st.fixed_dictionaries({}, optional={"description": texty}), max_size=2),
                "content": texty})))
        if draw(seldom):
            changes["member.nick"] = draw(typed(texty))
        if draw(seldom):
            changes["member.roles"] = draw(st.lists(snowflake_field, max_size=3))
        if draw(seldom):
            changes["member.permissions"] = draw(typed(st.sampled_from(["0", "32", "8", "-1", "abc", "9" * 30, "",
                                                                        "0x20", " 32 ", "1e3"])))
        if draw(seldom):
            changes["member.user"] = draw(st.fixed_dictionaries({"id": snowflake_field}, optional={
                "username": typed(texty), "global_name": typed(texty), "bot": typed(st.booleans())}))
        if draw(seldom):
            changes["guild_id"] = draw(snowflake_field)
        if draw(seldom):
            for key in draw(st.lists(st.sampled_from(["member", "guild_id", "channel_id", "locale", "guild_locale",
                                                      "user", "message", "channel"]), min_size=1, max_size=2,
                                     unique=True)):
                changes[key] = _DELETE
        if wrong_types and draw(seldom):  # keys the handler reads, of any type
            changes["data."] = draw(st.dictionaries(
                st.sampled_from(["options", "resolved", "custom_id", "components", "target_id", "name", "values"]),
                junk, min_size=1, max_size=2))
        return changes

    return st.fixed_dictionaries({
        "kind": kinds, "command": commands, "component": components, "modal": modals, "user": people,
        "admin": st.booleans(), "changes": envelope(),
    })


def build(discord: Discord, parts: dict[str, Any]) -> dict[str, Any]:
    """The interaction the parts describe, as the kit builds it (ids, token), with the envelope changed."""
    kind = parts["kind"]
    data = {wire.APPLICATION_COMMAND: parts["command"], wire.APPLICATION_COMMAND_AUTOCOMPLETE: parts["command"],
            wire.MESSAGE_COMPONENT: parts["component"], wire.MODAL_SUBMIT: parts["modal"]}[kind]
    payload = discord.interaction(kind, dict(data), user=parts["user"], admin=parts["admin"] or parts["user"] == ADMIN,
                                  message={"id": "1", "content": ""} if kind == wire.MESSAGE_COMPONENT else None)
    for key, value in parts["changes"].items():
        if key == "data.":
            payload["data"].update(value)
            continue
        target, _, name = key.rpartition(".")
        where = payload.get(target) if target else payload
        if isinstance(where, dict):
            if value is _DELETE:
                where.pop(name, None)
            else:
                where[name] = value
    return payload


# ---- the properties -----------------------------------------------------------------------------


def _words(node: Any) -> str:
    """The text of an answer (for ``event``: what the examples reached)."""
    if isinstance(node, dict):
        own = [str(node[k]) for k in ("content", "title", "description", "name", "error")
               if isinstance(node.get(k), str)]
        return " ".join(own + [_words(v) for v in node.values() if isinstance(v, dict | list)]).strip()
    if isinstance(node, list):
        return " ".join(_words(v) for v in node).strip()
    return ""


class Probe:
    """Signs and posts one interaction and checks everything that came out of it."""

    def __init__(self, discord: Discord, fake: FakeDiscord, caplog: pytest.LogCaptureFixture) -> None:
        self.discord = discord
        self.fake = fake
        self.caplog = caplog

    async def post(self, payload: dict[str, Any]) -> tuple[int, Any]:
        return await self.post_raw(json.dumps(payload))  # ASCII: a lone surrogate (\ud800) travels as JSON allows

    async def post_raw(self, raw: str) -> tuple[int, Any]:
        self.caplog.clear()
        self.fake.requests.clear()
        body = raw.encode()
        status, answer = await self.discord.post_raw(body, self.discord.sign(body))
        await self.discord.adapter.endpoint.drain()  # deferred answers go out through the fake API
        text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
        tally(f"HTTP {status}")
        tally(f"answer: {_words(answer)[:60]}")
        assert status < 500, text
        assert_clean(text, raw, "the HTTP answer")
        if status == 200:
            assert validate.check_response(answer) == [], (answer, validate.check_response(answer))
        for request in self.fake.requests:
            assert_clean(json.dumps(request.body, ensure_ascii=False), raw, f"{request.method} {request.path}")
        assert self.fake.problems == [], self.fake.problems
        assert_nothing_failed(self.caplog.records)
        return status, answer



@pytest.fixture
def probe(discord: Discord, fake_discord: FakeDiscord, caplog: pytest.LogCaptureFixture) -> Probe:
    caplog.set_level(logging.WARNING)
    return Probe(discord, fake_discord, caplog)


async def _seed(probe: Probe) -> None:
    """A thanks (id 1) and a meeting (id 1), so ids in the examples sometimes name something real."""
    discord = probe.discord
    if not await Thanks.exists():
        await discord.send(discord.thanks(BOB))
    if not await Meeting.exists():
        opts = [{"name": k, "type": wire.OPT_STRING, "value": v} for k, v in (
            ("title", "Sync"), ("start", "2030-12-02 10:00"), ("repeat", "weekly"), ("timezone", "Asia/Tokyo"))]
        await discord.send(discord.command("meeting", [{"name": "create", "type": wire.OPT_SUB_COMMAND,
                                                        "options": opts}], user=ALICE))
    probe.fake.problems.clear()


@FUZZ
@given(parts=interactions(wrong_types=False))
async def test_any_well_typed_interaction_is_answered_within_discords_limits(probe: Probe,
                                                                             parts: dict[str, Any]) -> None:
    await _seed(probe)
    status, answer = await probe.post(build(probe.discord, parts))
    assert status == 200, answer  # Discord shows "This interaction failed" for anything else


@FUZZ
@given(parts=interactions(wrong_types=True))
async def test_any_interaction_is_answered_without_a_server_error(probe: Probe, parts: dict[str, Any]) -> None:
    await _seed(probe)
    await probe.post(build(probe.discord, parts))


# ---- hostile bodies -----------------------------------------------------------------------------

HUGE = "x" * 100_000
NESTED = {"arrays": "[" * 100_000 + "]" * 100_000, "objects": '{"a":' * 1000 + "1" + "}" * 1000}


def _thanks(discord: Discord) -> dict[str, Any]:
    return discord.thanks(BOB, message="for the demo", value="teamwork")


def _click(discord: Discord) -> dict[str, Any]:
    return discord.click("kizuna:clap:thanks_id=1:en")


def _set(path: str, value: Any, build: Any = _thanks) -> Any:
    """A signed, well-formed interaction with the field at ``path`` (dotted) set to ``value``."""

    def make(discord: Discord) -> str:
        payload = build(discord)
        *parents, last = path.split(".")
        target = payload
        for key in parents:
            target = target.setdefault(key, {}) if isinstance(target, dict) else target[int(key)]
        target[last if isinstance(target, dict) else int(last)] = value
        return json.dumps(payload)

    return make


def _raw(build: Any, path: str, raw: str) -> Any:
    """A well-formed interaction whose field at ``path`` is the raw JSON text ``raw``."""
    return lambda discord: _set(path, "@@placeholder@@", build)(discord).replace('"@@placeholder@@"', raw)


HOSTILE_BODIES = {
    # Nesting far deeper than json.loads (or any recursive walk) can follow.
    "nested arrays in an option": _raw(_thanks, "data.options.1.value", NESTED["arrays"]),
    "nested objects in resolved": _raw(_thanks, "data.resolved.users", NESTED["objects"]),
    "a nested body": lambda discord: NESTED["arrays"],
    # 100,000-character strings wherever a string goes.
    **{f"a 100,000-character {path}": _set(path, HUGE) for path in (
        "id", "token", "application_id", "guild_id", "channel_id", "locale", "guild_locale", "member.nick",
        "member.permissions", "member.user.id", "member.user.username", "member.user.global_name", "data.name",
        "data.options.0.value", "data.options.1.value", "data.options.2.value", "data.options.1.name")},
    "a 100,000-digit user id": _set("data.options.0.value", "1" * 100_000),
    "a 100,000-character custom id": _set("data.custom_id", HUGE, _click),
    "a 100,000-digit thanks id in a custom id": _set("data.custom_id", "kizuna:clap:thanks_id=" + "9" * 100_000 + ":en",
                                                     _click),
    "a 100,000-character key": _set("data." + HUGE, 1),
    # Wrong types.
    **{f"{path} as {type(value).__name__}": _set(path, value) for path, value in (
        ("type", "2"), ("type", 2.5), ("data", [1]), ("member", ["alice"]), ("member.user", "alice"),
        ("data.options", {"name": "user"}), ("data.options.0", "user"), ("data.options.1.value", {"a": 1}),
        ("data.resolved", []), ("locale", 5), ("guild_id", 10 ** 400), ("member.roles", "admin"))},
    "a custom id as a number": _set("data.custom_id", 12, _click),
    # Lone surrogates and NUL wherever text goes.
    **{f"a lone surrogate in {path}": _set(path, "\ud800 \udfff\x00") for path in (
        "data.options.1.value", "data.options.2.value", "member.nick", "member.user.username", "locale", "token")},
    "a lone surrogate in a custom id": _set("data.custom_id", "kizuna:clap:thanks_id=1\ud800:en", _click),
    "a lone surrogate in a key": _set("data.\ud800", "x"),
    # A body past the 1 MB the server reads.
    "a 5 MB body": lambda discord: json.dumps(_thanks(discord) | {"padding": "x" * (5 * 1024 * 1024)}),
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
async def test_a_hostile_body_is_never_a_server_error_nor_a_traceback(probe: Probe, body: Any) -> None:
    await _seed(probe)
    status, answer = await probe.post_raw(body(probe.discord))
    assert status in (200, 400, 413), answer
