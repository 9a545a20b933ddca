"""Property-based robustness of ``POST /api/messages``: surprising activities are answered, never crashed on.

Hypothesis builds well-formed JSON activities whose shapes are wrong or unusual (odd text and
mentions, values of the wrong type, missing senders, tenants or channel data, junk in invokes and
dialogs) and posts them through the real app. Whatever comes in, the properties are:

* the HTTP status is never a server error (>= 500);
* no answer, and no card posted to the Bot Connector, carries a traceback or a Python exception
  name (unless the request itself contained that word);
* nothing fails unexpectedly inside: no exception is logged and nobody gets the "something went
  wrong on our side" apology (bad input deserves the clear message the code has for it);
* every card the fake connector receives, or an invoke answers with, is a valid Adaptive Card
  (the ``connector`` fixture and the card-checking test client check them).

The app, its database and the fake connector live for one test; the examples share them, so what
earlier examples left (thanks, meetings, members) is part of what later ones meet.
``KIZUNA_FUZZ_EXAMPLES`` sets the number of examples (60 by default), and
``--hypothesis-show-statistics`` shows what they reached.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.teams.botframework import testing as t
from adapters.teams.botframework.testing import ALICE, BOB, BOT, CAROL, User
from adapters.teams.dialog import COMMAND_ID, SUBMIT_MARKER
from adapters.teams.meetings import COMMAND_ID as MEETING_COMMAND_ID
from adapters.teams.render import (
    OPEN_MEETING_EDIT,
    OPEN_MEETING_FORM,
    REMINDER_REFRESH_VERB,
    RSVP_DETAILS,
    RSVP_VERB,
    SUBMIT_MEETING_EDIT,
    SUBMIT_MEETING_FORM,
    THANK_ATTENDEES,
)
from core.config import Settings
from core.meetings.models import Meeting
from core.models import Thanks
from tests.fuzzing import FUZZ, assert_clean, assert_nothing_failed, tally

DAVE = User("29:dave", "Dave", "aad-dave")
_DELETE = object()


@pytest.fixture
def settings() -> Settings:
    """Alice is a configured admin, so admin phrases and meeting edits reach the core, not only the refusal."""
    return Settings(database_url="sqlite://:memory:", environ={"KIZUNA_TEAMS_ADMIN_IDS": ALICE.aad})


# ---- strategies ---------------------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=6)
odd_strings = st.sampled_from([
    "", " ", "a\x00b", "\ud800", "x\udfff", "\u00a0", "&nbsp;", "\x00", "\n\n", "<at>", "</at>", "<at></at>",
    "<at>Kizuna</at>", "<at>Bob</at>", "#", "##", "#teamwork", "＃チームワーク", "@", "@everyone", "👏", "🙌🏽",
    "👨\u200d👩\u200d👧", "\u202e", "ありがとう", "ﾃｽﾄ", "a" * 3000, "x" * 70, "-1", "0", "9" * 30, "1e400", "NaN",
    "null", "{}", "[]",
    "'", "\"", "\\", "%s", "{name}", "{0}", "<script>", "**bold**", "2026-02-30", "25:99", "Asia/Nowhere",
    "FREQ=DAILY", "1d,15m", "0m", "999w", "Europe/London", "2026-12-01", "09:30",
])
# Longer than the columns they may end in (value keys 64, department names 100, ids 255) and a card's text.
long_strings = st.sampled_from(["k" * 65, "d" * 101, "i" * 256, "m" * 4001])
texty = odd_strings | st.text(max_size=40) | long_strings
person_ids = st.sampled_from([
    ALICE.id, BOB.id, CAROL.id, DAVE.id, BOT.id, "28:other-bot", "19:channel@thread.tacv2", "8:orgid:guest",
    "", " ", "29:", "aad-bob", "aad-nobody", "00000000-0000-0000-0000-000000000000", "x" * 300,
]) | st.text(max_size=10)
thanks_ids = (st.integers(min_value=-(2 ** 70), max_value=2 ** 70) | st.integers(min_value=-2, max_value=8)
              | st.sampled_from(["1", " 2 ", "-1", "0", "1.5", "1e3", "abc", "", "9" * 30, "१२", "1_000", "0x10"])
              | junk)
commands = st.sampled_from([
    "thanks", "thank", "ありがとう", "thx", "leaderboard", "ranking", "values", "help", "?", "notifications",
    "notifications off", "notifications on", "通知", "admin", "meeting", "meeting list", "meeting help",
    "meeting show", "meeting show 1", "meeting edit 1", "meeting skip 1", "meeting skip 1 2026-12-01",
    "meeting move 1", "meeting move 1 2026-12-01 2026-12-02 10:00", "meeting pause 1", "meeting resume 1",
    "meeting cancel 1", "meeting show 99999999999999999999999", "meeting show -1", "set feed channel here",
    "feed off", "department", "dept", "部署", "values add", "values add k Name", "values add k Name 名前 🙌",
    "values archive", "values archive teamwork", "values restore teamwork", "clap", "unclap", "leaderboard week",
    "leaderboard given", "",
])


def mention_entity(mentioned_id: Any, name: Any, text: Any, extra: dict[str, Any]) -> dict[str, Any]:
    mentioned: dict[str, Any] = {"id": mentioned_id, "name": name, **extra}
    return {"type": "mention", "text": text, "mentioned": mentioned}


people = st.sampled_from([ALICE, BOB, CAROL, DAVE, BOT])
mentions = st.one_of(
    people.map(lambda p: p.mention()),
    st.builds(mention_entity, person_ids | junk, texty | junk, texty | junk | people.map(lambda p: p.tag),
              st.sampled_from([{}, {"conversationIdentityType": "channel"}, {"type": "tag"},
                               {"conversationIdentityType": "team"}, {"type": "person"}])),
    st.fixed_dictionaries({"type": st.just("mention")}, optional={"text": junk, "mentioned": junk}),
    st.fixed_dictionaries({"type": st.sampled_from(["clientInfo", "mention", "place", ""]) | junk},
                          optional={"locale": junk, "mentioned": junk}),
)
locales = st.sampled_from(["en-US", "ja-JP", "ja", "EN", "en_GB", "fr-FR", "", "x", "zz-ZZ-x-private", "-", "ja-"]) \
    | junk
sometimes = st.sampled_from([True, False, False, False])


def rarely(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``strategy`` one time in four, else None (leave the well-formed part alone)."""
    return sometimes.flatmap(lambda yes: strategy if yes else st.none())


@st.composite
def sender_changes(draw: st.DrawFn) -> dict[str, Any]:
    """Changes to who sends the activity and where it comes from (applied on top of a well-formed one)."""
    changes: dict[str, Any] = {}
    if draw(sometimes):
        named = st.fixed_dictionaries({"id": person_ids}, optional={"name": texty | junk, "aadObjectId": junk})
        changes["from"] = draw(st.one_of(
            named, named, named, st.just(None),
            st.fixed_dictionaries({}, optional={"name": texty | junk, "aadObjectId": junk}),
        ))
    if draw(sometimes):
        changes["locale"] = draw(locales)
    if draw(sometimes):
        changes["channelData"] = draw(st.one_of(junk, st.fixed_dictionaries(
            {}, optional={"tenant": junk | st.fixed_dictionaries({}, optional={"id": junk}),
                          "eventType": junk, "team": junk, "channel": junk})))
    if draw(sometimes):
        changes["conversation"] = draw(st.fixed_dictionaries(
            {"id": st.sampled_from(["19:channel@thread.tacv2", "19:channel@thread.tacv2;messageid=123", "a:1",
                                    "", "x" * 500]) | st.text(max_size=10)},
            optional={"conversationType": st.sampled_from(["personal", "groupChat", "channel", ""]) | junk,
                      "tenantId": junk, "isGroup": junk, "name": junk}))
    if draw(sometimes):
        changes["attachments"] = draw(st.lists(junk | st.fixed_dictionaries(
            {"contentType": st.sampled_from(["application/vnd.microsoft.card.adaptive", "text/html"]) | junk},
            optional={"content": junk, "contentUrl": junk, "name": junk}), max_size=2))
    if draw(sometimes):
        changes["textFormat"] = draw(st.sampled_from(["plain", "markdown", "xml"]) | junk)
    if draw(sometimes):
        changes["recipient"] = draw(st.one_of(st.none(), st.fixed_dictionaries(
            {}, optional={"id": person_ids, "name": junk})))
    if draw(sometimes):
        for key in draw(st.lists(st.sampled_from(["from", "locale", "channelData", "recipient", "timestamp", "id",
                                                  "channelId", "conversation", "serviceUrl"]),
                                 min_size=1, max_size=2, unique=True)):
            changes[key] = _DELETE
    return changes


def apply(activity: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if value is _DELETE:
            activity.pop(key, None)
        else:
            activity[key] = value
    return activity


# ---- the properties -----------------------------------------------------------------------------


class Probe:
    """Posts one activity and checks everything that came out of it."""

    def __init__(self, client: Any, adapter: Any, connector: t.FakeBotConnector, caplog: pytest.LogCaptureFixture):
        self.client = client
        self.adapter = adapter
        self.connector = connector
        self.caplog = caplog

    async def post(self, activity: dict[str, Any]) -> tuple[int, str]:
        return await self.post_raw(json.dumps(activity))  # ASCII: a lone surrogate (\ud800) travels as JSON allows

    async def post_raw(self, raw: str) -> tuple[int, str]:
        self.connector.clear()
        self.caplog.clear()
        response = await self.client.post("/api/messages", data=io.BytesIO(raw.encode()),  # a stream: any size
                                          headers={"Content-Type": "application/json"})
        body = await response.text()
        await self.adapter.close()  # waits for the posts an invoke left running (the sender reopens lazily)
        assert response.status < 500, body
        assert_clean(body, raw, "the HTTP answer")
        for request in self.connector.requests:
            assert_clean(json.dumps(request.body, ensure_ascii=False), raw, f"{request.method} {request.path}")
        assert not self.connector.violations, self.connector.violations
        tally(f"HTTP {response.status}")
        for request in self.connector.activities():
            tally(f"reply: {_words(request.body.get('attachments'))[:60]}")
        if body.startswith("{"):
            tally(f"answer: {_words(json.loads(body))[:60]}")
        assert_nothing_failed(self.caplog.records)
        return response.status, body



def _words(node: Any) -> str:
    """The text of a reply or answer (for ``event``: what the examples reached)."""
    if isinstance(node, dict):
        own = [str(node[k]) for k in ("text", "value", "error", "title") if isinstance(node.get(k), str)]
        return " ".join(own + [_words(v) for v in node.values() if isinstance(v, dict | list)]).strip()
    if isinstance(node, list):
        return " ".join(_words(v) for v in node).strip()
    return ""


@pytest.fixture
def probe(teams: Any, connector: t.FakeBotConnector, caplog: pytest.LogCaptureFixture) -> Probe:
    client, adapter = teams
    caplog.set_level(logging.WARNING)
    return Probe(client, adapter, connector, caplog)


@FUZZ
@given(sender=people, command=st.just("thanks") | commands, mentioned=st.lists(mentions, max_size=4), rest=texty,
       text=rarely(junk), value=rarely(junk), changes=sender_changes(), mention_bot=st.booleans(),
       conversation_type=st.sampled_from(["channel", "personal", "groupChat"]))
async def test_any_message_activity_is_answered_without_a_server_error(
        probe: Probe, sender: User, command: str, mentioned: list[dict[str, Any]], rest: str, text: Any,
        value: Any, changes: dict[str, Any], mention_bot: bool, conversation_type: str) -> None:
    await _seed(probe)
    activity = t.message(probe.connector.url, sender, command, mention_bot=mention_bot,
                         conversation_type=conversation_type)
    tags = " ".join(str(m.get("text")) for m in mentioned if isinstance(m, dict))
    activity["text"] += f" {tags} {rest}"
    if text is not None:  # sometimes not the text of a command at all
        activity["text"] = text
    activity["entities"] = activity["entities"][:1] + mentioned
    if value is not None:
        activity["value"] = value
    await probe.post(apply(activity, changes))


card_data = st.fixed_dictionaries({}, optional={
    "thanks_id": thanks_ids, "locale": locales, "meeting_id": thanks_ids, "occurrence": texty | junk,
    "answer": st.sampled_from(["yes", "no", "maybe", ""]) | junk,
})
card_actions = st.one_of(
    junk,
    st.fixed_dictionaries({"action": st.fixed_dictionaries(
        {"type": st.sampled_from(["Action.Execute", "Action.Submit"]) | junk},
        optional={"verb": st.sampled_from(["clap", "refresh", RSVP_VERB, REMINDER_REFRESH_VERB, "", "CLAP"]) | junk,
                  "data": card_data | junk, "id": junk})},
        optional={"trigger": junk}),
)
thanks_fields = st.fixed_dictionaries({}, optional={
    "recipients": st.lists(person_ids | junk, max_size=4) | person_ids | junk,
    "values": st.lists(texty, max_size=3) | st.sampled_from(["teamwork", "teamwork,,ownership", "nope"]) | junk,
    "message": texty | junk, "meeting_id": thanks_ids, "occurrence": texty | junk,
})
meeting_fields = st.fixed_dictionaries({}, optional={
    "title": texty | junk, "date": st.sampled_from(["2026-12-01", "2026-02-30", "12/01/2026", ""]) | junk,
    "time": st.sampled_from(["09:30", "9:30", "25:00", "09:30:00", ""]) | junk,
    "timezone": st.sampled_from(["Asia/Tokyo", "UTC", "Mars/Olympus", ""]) | junk,
    "repeat": st.sampled_from(["none", "weekly", "biweekly", "monthly", "monthly-nth-weekday", "custom", ""])
    | junk,
    "remind": st.sampled_from(["1d,15m", "", "0m", "15m,15m", "1y"]) | st.lists(texty, max_size=3) | junk,
    "duration": st.sampled_from(["60", "0", "-5", "100000", "abc"]) | junk,
    "departments": st.lists(texty, max_size=3) | texty | junk, "place": texty | junk, "agenda": texty | junk,
    "meeting_id": thanks_ids,
})
dialog_data = st.one_of(junk, thanks_fields, meeting_fields,
                        st.tuples(thanks_fields, meeting_fields).map(lambda pair: {**pair[0], **pair[1]}))
command_ids = st.sampled_from([COMMAND_ID, MEETING_COMMAND_ID, "", "sendthanks", "other"]) | junk
markers = st.sampled_from([OPEN_MEETING_FORM, OPEN_MEETING_EDIT, RSVP_DETAILS, THANK_ATTENDEES, SUBMIT_MEETING_FORM,
                           SUBMIT_MEETING_EDIT, SUBMIT_MARKER, "", "KIZUNA"]) | junk


def with_marker(data: Any, marker: Any) -> Any:
    return {**data, "kizuna": marker} if isinstance(data, dict) else data


invokes = st.one_of(
    st.tuples(st.just("adaptiveCard/action"), card_actions),
    st.tuples(st.just("composeExtension/fetchTask"), junk | st.fixed_dictionaries({}, optional={
        "commandId": command_ids, "commandContext": st.sampled_from(["message", "compose", "commandbox"]) | junk,
        "messagePayload": junk | st.fixed_dictionaries({}, optional={"body": junk | st.fixed_dictionaries(
            {}, optional={"content": texty | junk, "contentType": st.sampled_from(["html", "text", "HTML"]) | junk})}),
    })),
    st.tuples(st.just("composeExtension/submitAction"), junk | st.fixed_dictionaries({}, optional={
        "commandId": command_ids, "data": dialog_data, "commandContext": junk, "botMessagePreviewAction": junk})),
    st.tuples(st.just("task/fetch"), junk | st.fixed_dictionaries({}, optional={
        "data": junk | st.builds(with_marker, card_data, markers)})),
    st.tuples(st.just("task/submit"), junk | st.fixed_dictionaries({}, optional={
        "data": junk | st.builds(with_marker, dialog_data, markers)})),
    st.tuples(st.sampled_from(["composeExtension/query", "signin/verifyState", "", "task/FETCH"]) | st.text(max_size=8),
              junk),
)


async def _seed(probe: Probe) -> None:
    """A thanks (id 1) and a meeting (id 1), so ids in the examples sometimes name something real."""
    if not await Thanks.exists():
        activity = t.message(probe.connector.url, ALICE, f"thanks {BOB.tag} for the demo #teamwork", [BOB])
        assert (await probe.client.post("/api/messages", json=activity)).status == 201
    if not await Meeting.exists():
        data = {"kizuna": SUBMIT_MEETING_FORM, "title": "Sync", "date": "2030-01-07", "time": "09:30",
                "timezone": "Asia/Tokyo", "repeat": "weekly", "remind": "1d,15m", "duration": "60"}
        response = await probe.client.post("/api/messages",
                                           json=t.invoke(probe.connector.url, ALICE, "task/submit", {"data": data}))
        assert response.status == 200
    await probe.adapter.close()


@FUZZ
@given(sender=people, invoke=invokes, changes=sender_changes(), reply_to=rarely(texty | junk))
async def test_any_invoke_is_answered_without_a_server_error(
        probe: Probe, sender: User, invoke: tuple[str, Any], changes: dict[str, Any], reply_to: Any) -> None:
    await _seed(probe)
    name, value = invoke
    activity = t.invoke(probe.connector.url, sender, name, value)
    if reply_to is not None:
        activity["replyToId"] = reply_to
    status, body = await probe.post(apply(activity, changes))
    if name in ("task/fetch", "task/submit", "composeExtension/fetchTask", "composeExtension/submitAction") \
            and status == 200:
        assert isinstance(json.loads(body), dict)


members = st.lists(st.one_of(
    st.just({"id": BOT.id}), people.map(lambda p: p.account()),
    st.fixed_dictionaries({}, optional={"id": person_ids | junk, "name": junk, "aadObjectId": junk, "role": junk}),
    junk), max_size=4)


@FUZZ
@given(sender=people, kind=st.sampled_from(["conversationUpdate", "installationUpdate"]),
       added=st.none() | members, removed=st.none() | members,
       action=st.none() | st.sampled_from(["add", "remove", "add-upgrade", "remove-upgrade", ""]) | junk,
       event_type=st.none() | st.sampled_from(["teamMemberAdded", "teamMemberRemoved", "channelCreated", ""]) | junk,
       changes=sender_changes())
async def test_any_membership_update_is_answered_without_a_server_error(
        probe: Probe, sender: User, kind: str, added: Any, removed: Any, action: Any, event_type: Any,
        changes: dict[str, Any]) -> None:
    await _seed(probe)
    activity = t.base_activity(kind, probe.connector.url, sender)
    for key, value in (("membersAdded", added), ("membersRemoved", removed), ("action", action)):
        if value is not None:
            activity[key] = value
    if event_type is not None:
        activity["channelData"]["eventType"] = event_type
    await probe.post(apply(activity, changes))


# ---- hostile bodies -----------------------------------------------------------------------------

HUGE = "x" * 100_000
NESTED = {"arrays": "[" * 100_000 + "]" * 100_000, "objects": '{"a":' * 1000 + "1" + "}" * 1000}


def _message(url: str) -> dict[str, Any]:
    return t.message(url, ALICE, f"thanks {BOB.tag} for the demo #teamwork", [BOB])


def _clap(url: str) -> dict[str, Any]:
    return t.clap_invoke(url, BOB, 1)


def _set(path: str, value: Any, build: Any = _message) -> Any:
    """A well-formed activity with the field at ``path`` (dotted) set to ``value``."""

    def make(url: str) -> str:
        activity = build(url)
        *parents, last = path.split(".")
        target = activity
        for key in parents:
            target = target.setdefault(key, {}) if isinstance(target, dict) else target[int(key)]
        target[last if isinstance(target, dict) else int(last)] = value
        return json.dumps(activity)

    return make


def _raw(build: Any, placeholder_path: str, raw: str) -> Any:
    """A well-formed activity whose field at ``placeholder_path`` is the raw JSON text ``raw``."""
    return lambda url: _set(placeholder_path, "@@placeholder@@", build)(url).replace('"@@placeholder@@"', raw)


HOSTILE_BODIES = {
    # Nesting far deeper than json.loads (or any recursive walk) can follow.
    "nested arrays in the text": _raw(_message, "text", NESTED["arrays"]),
    "nested objects in an invoke value": _raw(_clap, "value.action.data", NESTED["objects"]),
    "a nested body": lambda url: NESTED["arrays"],
    # 100,000-character strings wherever a string goes.
    **{f"a 100,000-character {path}": _set(path, HUGE) for path in (
        "text", "from.id", "from.name", "from.aadObjectId", "recipient.id", "conversation.id", "conversation.name",
        "conversation.tenantId", "channelData.tenant.id", "locale", "id", "replyToId", "channelId", "type",
        "timestamp", "serviceUrl", "entities.0.text", "entities.1.mentioned.id", "entities.1.mentioned.name")},
    "a 100,000-character serviceUrl path": lambda url: json.dumps(_message(url + "/" + HUGE)),
    "a 100,000-character invoke name": _set("name", HUGE, _clap),
    "a 100,000-character verb": _set("value.action.verb", HUGE, _clap),
    "a 100,000-character thanks id": _set("value.action.data.thanks_id", "9" * 100_000, _clap),
    "a 100,000-character key": _set("channelData." + HUGE, 1),
    # Wrong types.
    **{f"{path} as {type(value).__name__}": _set(path, value) for path, value in (
        ("text", {"a": 1}), ("text", ["thanks"]), ("entities", "mention"), ("from", ["alice"]), ("locale", 5),
        ("conversation.id", None), ("channelData", "tenant"), ("attachments", {}), ("value", 10 ** 400))},
    "an invoke value as a list": _set("value", [1, 2], _clap),
    "a clap on a thanks id that is a float": _set("value.action.data.thanks_id", 1e308, _clap),
    # Lone surrogates and NUL wherever text goes.
    **{f"a lone surrogate in {path}": _set(path, "\ud800 \udfff\x00") for path in (
        "text", "from.name", "from.id", "conversation.id", "locale", "channelData.tenant.id")},
    "a lone surrogate in a key": _set("channelData.\ud800", "x"),
    # A body past the 1 MB the server reads.
    "a 5 MB body": lambda url: json.dumps(_message(url) | {"text": "x" * (5 * 1024 * 1024)}),
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
async def test_a_hostile_body_is_never_a_server_error_nor_a_traceback(probe: Probe, body: Any) -> None:
    await _seed(probe)
    status, answer = await probe.post_raw(body(probe.connector.url))
    assert status in (200, 201, 400, 413), answer


async def test_an_install_by_a_blank_sender_is_answered_without_a_server_error(teams, connector):
    client, _ = teams
    activity = t.installed(connector.url, t.ALICE)
    activity["from"]["id"] = " "
    activity["channelData"] = None
    response = await client.post("/api/messages", json=activity)
    assert response.status < 500, await response.text()
