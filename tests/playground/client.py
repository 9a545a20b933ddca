"""Drives the Microsoft 365 Agents Playground web UI with Playwright (sync API), as a Teams user would: conversations
on the left, the compose box with its @-mention picker, the cards' buttons, and the "Mock an Activity" menu for what
the UI cannot send (another user's message, a Japanese client). Every exchange the playground logs is recorded from
its log stream, so a test can assert that none failed."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TENANT = "00000000-0000-0000-0000-0000000000001"


@dataclass(frozen=True)
class User:
    id: str
    name: str
    aad: str

    @property
    def account(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad}


BOT = User("00000000-0000-0000-0000-00000000000011", "Kizuna", "")
ME = User("user-id-0", "Alex Wilber", "00000000-0000-0000-0000-0000000000020")  # who the UI speaks for
USERS = (
    User("user-id-1", "Megan Bowen", "00000000-0000-0000-0000-0000000000021"),
    User("user-id-2", "Adele Vance", "00000000-0000-0000-0000-0000000000022"),
    User("user-id-3", "Isaiah Langer", "00000000-0000-0000-0000-0000000000023"),
    User("user-id-4", "Patti Fernandez", "00000000-0000-0000-0000-0000000000024"),
    User("user-id-5", "Lynne Robbins", "00000000-0000-0000-0000-0000000000025"),
)
PEOPLE = {user.name: user for user in (BOT, ME, *USERS)}
PERSONAL, GROUP, TEAM, CHANNEL = "personal-chat-id", "group-chat-id", "team-id", "channel-announcements-id"
# The names the playground's conversation list shows.
CHATS = {PERSONAL: "Personal Chat", GROUP: "Release crew", TEAM: "Kizuna Team - General",
         CHANNEL: "Kizuna Team - Announcements"}
EMULATOR_MODE = "Teams runs in local emulator mode: MICROSOFT_APP_ID is empty, requests are not authenticated"
# What the playground says it cannot show; anything else it warns about is a failure (docs/teams.md lists these
# and the tests that cover them instead).
KNOWN_WARNINGS = ("Full width control is not supported", "User specific view is not supported")


def config_yaml() -> str:
    """The playground's ``.m365agentsplayground.yml``: the signed-in user, five more, a group chat and a team."""

    def user(person: User, first: str, rest: str) -> str:
        given, surname = person.name.split()
        mail = f"{given.lower()}{surname[0].lower()}@example.com"
        fields = [f"id: {person.id}", f"name: {person.name}", f"userPrincipleName: {mail}",
                  f"aadObjectId: {person.aad}", f"givenName: {given}", f"surname: {surname}", f"email: {mail}"]
        return first + fields[0] + "\n" + "".join(f"{rest}{field}\n" for field in fields[1:])

    users = "".join(user(person, "  - ", "    ") for person in USERS)
    return (f'version: "0.1.1"\ntenantId: {TENANT}\nbot:\n  id: {BOT.id}\n  name: {BOT.name}\n'
            f"currentUser:\n{user(ME, '  ', '  ')}users:\n{users}"
            f"personalChat:\n  id: {PERSONAL}\ngroupChat:\n  id: {GROUP}\n  name: {CHATS[GROUP]}\n"
            f"team:\n  id: {TEAM}\n  name: Kizuna Team\n  aadGroupId: 00000000-0000-0000-0000-000000000031\n"
            f"  channels:\n    - id: {CHANNEL}\n      name: Announcements\n")


_MENTION = re.compile("@(" + "|".join(re.escape(name) for name in sorted(PEOPLE, key=len, reverse=True)) + ")")


class Playground:
    """The playground's page, with the exchanges its log stream reported."""

    def __init__(self, page: Any, url: str, artifacts: Path, *, kizuna_log: Path, playground_log: Path) -> None:
        self.page = page
        self.url = url
        self.artifacts = artifacts
        self.kizuna_log = kizuna_log
        self.playground_log = playground_log
        self.exchanges: list[dict[str, Any]] = []
        self.shots = 0
        self.conversation = PERSONAL
        page.on("websocket", self._listen)
        # Nothing leaves the machine: the playground's pages ask for fonts and pictures on Microsoft's CDN.
        page.route("**/*", lambda route: route.continue_() if _local(route.request.url) else route.abort())

    # ---- what the page does ----------------------------------------------------------------------

    def open(self) -> None:
        """Load the playground: it installs the app in the personal chat, as Teams does on first use."""
        self.page.goto(self.url)
        self.page.get_by_role("treeitem", name=CHATS[PERSONAL]).wait_for()
        self.conversation = PERSONAL

    def chat(self, conversation: str) -> None:
        """Open a conversation from the list on the left (the first visit installs the app there)."""
        self.page.get_by_role("treeitem", name=CHATS[conversation], exact=True).click()
        self.conversation = conversation
        self.page.get_by_role("textbox").first.wait_for()

    def say(self, text: str) -> int:
        """Type ``text`` in the compose box (a new post in a channel), ``@Name`` through the mention picker, and
        send it; returns how many messages the conversation showed before."""
        before = self.messages().count()
        box = self.page.get_by_role("textbox").first  # in a channel: "Start a new post", above the threads
        box.click()
        position = 0
        for match in _MENTION.finditer(text):
            if match.start() > position:
                box.press_sequentially(text[position:match.start()])
            name = match.group(1)
            box.press_sequentially("@" + name[:3])
            # (a menu item's name also holds its avatar's label)
            self.page.get_by_role("listbox", name="Typeahead menu").get_by_role("menuitem", name=name).first.click()
            position = match.end()
        if position < len(text):
            box.press_sequentially(text[position:])
        if self.in_channel:
            self.page.get_by_role("button", name="Post", exact=True).click()
        else:
            box.press("Enter")
        return before

    def mock(self, activity: dict[str, Any]) -> int:
        """Send ``activity`` through "Mock an Activity" → "Custom activity"; returns the message count before."""
        before = self.messages().count()
        self.page.get_by_role("button", name="Mock an Activity").click()
        self.page.get_by_role("menuitem", name="Custom activity", exact=True).click()
        dialog = self.page.get_by_role("dialog", name="Custom activity")
        dialog.locator(".monaco-editor textarea").focus()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(json.dumps(activity, ensure_ascii=False))  # one line: no auto-indent
        # With a mention entity the dialog takes it for "Mention in Word" and shows a form: send the JSON as it is.
        if any(entity.get("type") == "mention" for entity in activity.get("entities", [])):
            dialog.get_by_role("tab", name="JSON").click()
        dialog.get_by_role("button", name="Send activity").click()
        dialog.wait_for(state="hidden")
        return before

    def menu(self, item: str) -> int:
        """Send what ``item`` of "Mock an Activity" (e.g. "Uninstall application") proposes; returns the message
        count before."""
        before = self.messages().count()
        self.page.get_by_role("button", name="Mock an Activity").click()
        # (these items are named by their handler, e.g. "onInstallationUpdate …": find them by their text)
        self.page.get_by_role("menuitem").filter(has_text=re.compile(f"^{re.escape(item)}$")).click()
        dialog = self.page.get_by_role("dialog", name=item)  # the activity it will send, to read or edit
        dialog.get_by_role("button", name="Send activity").click()
        dialog.wait_for(state="hidden")
        return before

    @property
    def in_channel(self) -> bool:
        return self.conversation in (TEAM, CHANNEL)

    def messages(self) -> Any:
        """The messages of the open chat, oldest first; in a channel its threads (a post and its replies), newest
        first."""
        if self.in_channel:
            return self.page.locator("[role='group']").filter(
                has=self.page.get_by_role("button", name="Show more information"))
        return self.page.locator("[aria-label='Message header']").locator("xpath=..")

    def wait_for(self, text: str, *, after: int = 0, timeout: float = 15) -> Any:
        """The first new message (not one of the ``after`` shown before) that shows ``text``; fails after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.messages().all_inner_texts()
            new = range(len(shown) - after) if self.in_channel else range(after, len(shown))
            for index in new:
                if text in shown[index]:
                    return self.messages().nth(index)
            if time.monotonic() > deadline:
                self.shoot("timeout")
                raise AssertionError(f"no new message shows {text!r} in {CHATS[self.conversation]}; shown:\n"
                                     + "\n---\n".join(shown[i] for i in new))
            self.page.wait_for_timeout(100)

    def shoot(self, name: str) -> Path:
        """A screenshot of the page, kept as a test artifact."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        path = self.artifacts / f"{self.shots:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        return path

    # ---- activities the UI cannot send -----------------------------------------------------------

    def activity(self, text: str, *, sender: User = ME, locale: str = "ja-JP",
                 conversation: str | None = None) -> dict[str, Any]:
        """A message activity as Teams sends it, ``@Name`` turned into real mention entities."""
        conversation = conversation or self.conversation
        entities: list[dict[str, Any]] = []

        def mention(match: re.Match[str]) -> str:
            person = PEOPLE[match.group(1)]
            entities.append({"type": "mention", "text": f"<at>{person.name}</at>",
                             "mentioned": {"id": person.id, "name": person.name}})
            return f"<at>{person.name}</at>"

        return {**self._base("message", sender, locale, conversation), "text": _MENTION.sub(mention, text),
                "textFormat": "plain", "entities": entities}

    def install_activity(self, *, locale: str, conversation: str | None = None) -> dict[str, Any]:
        """``installationUpdate`` (add) from the signed-in user: the app added to the conversation."""
        return {**self._base("installationUpdate", ME, locale, conversation or self.conversation), "action": "add"}

    def _base(self, kind: str, sender: User, locale: str, conversation: str) -> dict[str, Any]:
        port = self.url.rsplit(":", 1)[1]
        channel_data: dict[str, Any] = {"tenant": {"id": TENANT}}
        if conversation == PERSONAL:
            shape: dict[str, Any] = {"conversationType": "personal"}
        elif conversation == GROUP:
            shape = {"conversationType": "groupChat", "isGroup": True}
        else:
            shape = {"conversationType": "channel", "isGroup": True}
            channel_data |= {"team": {"id": TEAM, "name": "Kizuna Team"}, "channel": {"id": conversation}}
        return {"type": kind, "id": str(uuid.uuid4()), "channelId": "msteams", "locale": locale,
                "serviceUrl": f"http://localhost:{port}/_connector", "from": sender.account,
                "recipient": {"id": BOT.id, "name": BOT.name},
                "conversation": {"id": conversation, "tenantId": TENANT, **shape}, "channelData": channel_data}

    # ---- what went over the wire -----------------------------------------------------------------

    def _listen(self, socket: Any) -> None:
        if socket.url.endswith("/_ws/log/stream"):
            socket.on("framereceived", self._record)

    def _record(self, frame: Any) -> None:
        with_log = json.loads(frame if isinstance(frame, str) else frame.decode())
        entry = with_log.get("log") or {}
        if "response" in entry:
            self.exchanges.append(entry)

    def wait_for_exchange(self, name: str, *, count: int, timeout: float = 15) -> dict[str, Any]:
        """The ``count``-th exchange of activity type ``name`` sent to Kizuna, once the playground logged it."""
        deadline = time.monotonic() + timeout
        while len(self.exchange(name)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the playground logged {len(self.exchange(name))} {name} exchanges, not {count}")
            self.page.wait_for_timeout(100)  # the sync API handles the log stream's frames while it waits
        return self.exchange(name)[count - 1]

    def exchange(self, name: str, *, to_kizuna: bool = True) -> list[dict[str, Any]]:
        """The logged exchanges of activity type ``name`` sent to Kizuna (or, with ``to_kizuna=False``, from it)."""
        return [e for e in self.exchanges if e.get("activityName") == name
                and (e.get("to") == "User Application") == to_kizuna]

    def failures(self) -> list[str]:
        """Everything that went wrong: an exchange answered 4xx/5xx, an error or an unknown warning in the log
        panel, a warning or an error in the playground server's log or in Kizuna's (but the one that says it
        runs in emulator mode), anything Kizuna printed that is not a log entry."""
        problems = [f"{e.get('activityName')} {e.get('from')} → {e.get('to')}: {e['response'].get('statusCode')} "
                    f"{json.dumps(e['response'].get('body'), ensure_ascii=False)[:300]}"
                    for e in self.exchanges if int(e["response"].get("statusCode") or 0) >= 400]
        panel = self.page.locator("[contenteditable='true'][spellcheck='false']").inner_text()
        for line in panel.splitlines():
            if "Error:" in line or ("Warning:" in line and not any(known in line for known in KNOWN_WARNINGS)):
                problems.append(f"log panel: {line}")
        if self.playground_log.exists():  # the playground server's own log: "log …", "debug …", "warn …", "error …"
            problems += [f"playground log: {line}" for line in self.playground_log.read_text("utf-8").splitlines()
                         if line.startswith(("error", "warn"))]
        for line in self.kizuna_log.read_text("utf-8").splitlines():
            entry = _json(line)
            if entry.get("level") in ("warning", "error", "critical") and entry.get("message") != EMULATOR_MODE:
                problems.append(f"kizuna log: {line}")
            elif not entry:
                problems.append(f"kizuna printed: {line}")
        return problems


def _json(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _local(url: str) -> bool:
    return url.startswith(("http://127.0.0.1", "http://localhost", "ws://127.0.0.1", "ws://localhost", "data:",
                           "blob:"))
