"""Every golden message as a person sees it: the Teams card drawn by Microsoft's Adaptive Cards renderer and the
Discord message drawn by a Discord-like page, in headless Chromium with Japanese and emoji fonts. Screenshots go to
test-artifacts/cards/. KIZUNA_UPDATE_IMAGES=1 also rewrites the pictures in docs/images/."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.render import render as discord_render
from adapters.teams.render import render_card
from cards.build import thanks_message
from cards.model import Message
from tests.cards.test_golden import NAMES, VIEW, messages
from tests.render.conftest import ARTIFACTS, HERE

DOCS_IMAGES = Path(__file__).parents[2] / "docs" / "images"
RAW = ["{{DATE(", "{{TIME(", "\\:", "\\*", "\\<", "\\_", "<at>Bob", "](http"]


def _people(message: Message) -> dict[str, str]:
    sender = getattr(message, "sender", None)
    return {p.platform_user_id: p.name for p in (*_recipients(message), *([sender] if sender else []))}


def _recipients(message: Message) -> tuple[Any, ...]:
    return tuple(getattr(message, "recipients", ()))


def _visible_text(page: Any, selector: str) -> str:
    return page.locator(selector).inner_text()


def _shoot(page: Any, selector: str, name: str, docs: str | None = None) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    element = page.locator(selector)
    box = element.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 20, f"{name}: nothing visible was drawn ({box})"
    element.screenshot(path=str(path))
    if docs and os.environ.get("KIZUNA_UPDATE_IMAGES"):
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        element.screenshot(path=str(DOCS_IMAGES / docs))
    return path


@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("name", NAMES)
def test_teams_card_renders_cleanly(page, name, locale):
    message = messages(locale)[name]
    page.goto((HERE / "teams.html").as_uri())
    problems = page.evaluate("card => renderCard(card)", render_card(message))
    assert problems == [], f"the Adaptive Cards renderer reported: {problems}"
    _shoot(page, "#frame", f"teams-{name}.{locale}.png")
    shown = _visible_text(page, "#frame")
    for raw in RAW:
        assert raw not in shown, f"raw markup {raw!r} is visible in the {name} card:\n{shown}"
    if title := getattr(message, "title", ""):
        assert page.get_by_text(title, exact=False).first.is_visible()
    for person in _recipients(message):
        assert person.name in shown
    _no_clipped_text(page, "#frame")
    assert page.errors == []


@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("name", NAMES)
def test_discord_message_renders_cleanly(page, name, locale):
    message = messages(locale)[name]
    page.goto((HERE / "discord.html").as_uri())
    page.evaluate("([p, names]) => renderMessage(p, names)", [discord_render(message), _people(message)])
    _shoot(page, "#message", f"discord-{name}.{locale}.png")
    shown = _visible_text(page, "#message")
    for raw in RAW:
        assert raw not in shown, f"raw markup {raw!r} is visible in the {name} message:\n{shown}"
    if title := getattr(message, "title", ""):
        assert title in shown
    for person in _recipients(message):
        assert person.name in shown
    _no_clipped_text(page, "#message")
    assert page.errors == []


def _no_clipped_text(page: Any, selector: str) -> None:
    # Text wider than its box is cut off (the renderers hide overflow): every box must hold its content.
    clipped = page.evaluate("""sel => [...document.querySelectorAll(sel + ', ' + sel + ' *')]
        .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1 && e.textContent.trim())
        .map(e => e.textContent.trim().slice(0, 80))""", selector)
    assert clipped == [], f"text cut off: {clipped}"


def test_thanks_body_keeps_markup_as_typed_but_escapes_are_gone(page):
    # What the sender typed shows literally on Discord (no bold, no backslashes).
    message = messages("en")["thanks"]
    page.goto((HERE / "discord.html").as_uri())
    page.evaluate("([p, names]) => renderMessage(p, names)", [discord_render(message), _people(message)])
    assert page.get_by_text(re.compile(r"Thanks for the \*\*release\*\* notes <at>x</at> \$\{y\}")).is_visible()


README_TEXT = {"en": "Thanks for staying late to get the release notes out!",
               "ja": "リリースノートのために遅くまで残ってくれてありがとうございました！"}


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_readme_pictures_of_a_thanks(page, locale):
    # The pictures in the README (docs/images/), drawn from the product as it is; KIZUNA_UPDATE_IMAGES=1 rewrites them.
    message = thanks_message(replace(VIEW, message=README_TEXT[locale]), locale, "Asia/Tokyo")
    page.goto((HERE / "teams.html").as_uri())
    assert page.evaluate("card => renderCard(card)", render_card(message)) == []
    _shoot(page, "#frame", f"readme-teams-thanks.{locale}.png", docs=f"teams-thanks.{locale}.png")
    assert page.get_by_text(README_TEXT[locale]).is_visible()
    page.goto((HERE / "discord.html").as_uri())
    page.evaluate("([p, names]) => renderMessage(p, names)", [discord_render(message), _people(message)])
    _shoot(page, "#message", f"readme-discord-thanks.{locale}.png", docs=f"discord-thanks.{locale}.png")
    assert page.get_by_text(README_TEXT[locale]).is_visible()
    assert page.errors == []


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_the_digest_renders_cleanly_with_its_island_meeting_and_dashboard_line(page, locale):
    # The digest as posted: an island's next shared meeting at the reader's time, projects, the dashboard link.
    from tests.teams.test_digest_cards import CASES

    message = CASES["digest"](locale)
    page.goto((HERE / "teams.html").as_uri())
    assert page.evaluate("card => renderCard(card)", render_card(message)) == []
    _shoot(page, "#frame", f"teams-digest.{locale}.png")
    shown = _visible_text(page, "#frame")
    for raw in RAW:
        assert raw not in shown, f"raw markup {raw!r} is visible in the digest card:\n{shown}"
    assert "Info exchange <@123> **now**" in shown and message.link_label in shown
    _no_clipped_text(page, "#frame")
    page.goto((HERE / "discord.html").as_uri())
    page.evaluate("([p, names]) => renderMessage(p, names)", [discord_render(message), {}])
    _shoot(page, "#message", f"discord-digest.{locale}.png")
    shown = _visible_text(page, "#message").replace("\u200b", "")  # the escape's zero-width space after @
    for raw in [*RAW, "<t:"]:
        assert raw not in shown, f"raw markup {raw!r} is visible in the digest message:\n{shown}"
    assert "Info exchange <@123> **now**" in shown
    link = page.get_by_role("link", name=message.link_label)
    assert link.is_visible() and link.get_attribute("href") == message.link
    _no_clipped_text(page, "#message")
    assert page.errors == []
