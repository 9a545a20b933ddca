"""The Teams app package: manifest 1.29 (bot + "Send thanks" and "Schedule meeting" extension commands, the
"Insights" dashboard as a personal tab and a channel tab with single sign-on), icons, Japanese localization.

Icons are drawn here with the standard library (zlib + struct), so building a package needs no
image library: a 192×192 colour icon and a 32×32 white-on-transparent outline icon.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adapters.teams.dialog import COMMAND_ID
from adapters.teams.meetings import COMMAND_ID as MEETING_COMMAND_ID
from core.i18n import translate

MANIFEST_VERSION = "1.29"
MANIFEST_SCHEMA = "https://developer.microsoft.com/en-us/json-schemas/teams/v1.29/MicrosoftTeams.schema.json"
LOCALIZATION_SCHEMA = (
    "https://developer.microsoft.com/en-us/json-schemas/teams/v1.29/MicrosoftTeams.Localization.schema.json")
ACCENT = (0xE8, 0x66, 0x3D)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# Texts of the package, in both languages (Teams shows the one matching the client's language).
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "name.short": "Kizuna",
        "name.full": "Kizuna — thanks that connect teams",
        "description.short": "Thank coworkers, tag your values, and see how departments work together.",
        "description.full": (
            "Kizuna (絆, “bonds”) lets coworkers send each other thanks tagged with the organisation's values. "
            "Every thanks is visible to the whole workspace, so work that crosses department lines is seen and "
            "rewarded. Mention @Kizuna with “thanks @name for …”, use “Send thanks” from the compose box or a "
            "message's … menu, clap 👏 for others' thanks, and see the leaderboard and values."),
        "command.thanks": "thanks",
        "command.thanks.description": "Thank one or more people: thanks @name for … #value",
        "command.leaderboard": "leaderboard",
        "command.leaderboard.description": "Who was thanked most this month",
        "command.values": "values",
        "command.values.description": "Our values and their tags",
        "command.help": "help",
        "command.help.description": "How to use Kizuna",
        "extension.title": "Send thanks",
        "extension.description": "Thank people for their help, with your values",
        "parameter.title": "Message",
        "parameter.description": "What are you thankful for?",
        "tab.insights": "Insights",
    },
    "ja": {
        "name.short": "Kizuna",
        "name.full": "Kizuna（絆）— 感謝でつながるチーム",
        "description.short": "同僚に感謝を送り、バリューを添えて、部署を越えたつながりを見える化します。",
        "description.full": (
            "Kizuna（絆）は、組織のバリューを添えて同僚どうしで感謝を送り合うボットです。すべての感謝は"
            "ワークスペース全体に共有されるので、部署を越えた仕事がきちんと見えて、称えられます。"
            "@Kizuna に「ありがとう @名前 〜」とメンションするか、作成ボックスやメッセージの「…」メニューの"
            "「感謝を送る」から送れます。ほかの人の感謝には 👏 で拍手、ランキングとバリューも確認できます。"),
        "command.thanks": "ありがとう",
        "command.thanks.description": "1人以上に感謝を送る：ありがとう @名前 〜 #バリュー",
        "command.leaderboard": "ランキング",
        "command.leaderboard.description": "今月いちばん感謝された人",
        "command.values": "バリュー",
        "command.values.description": "バリューとタグの一覧",
        "command.help": "ヘルプ",
        "command.help.description": "Kizuna の使い方",
        "extension.title": "感謝を送る",
        "extension.description": "助けてくれた人にバリューを添えて感謝を送る",
        "parameter.title": "メッセージ",
        "parameter.description": "何に感謝していますか？",
        "tab.insights": "インサイト",
    },
}
_COMMANDS = ("thanks", "leaderboard", "values", "help")
_BOT_SCOPES = ["personal", "team", "groupChat"]
TAB_PATH = "/dashboard/teams"  # kizuna.dashboard serves it (and ``/configure``); the adapter signs the person in


class ManifestError(ValueError):
    """The package cannot be built from these inputs; the message says what to change."""


@dataclass(frozen=True)
class PackageOptions:
    """What the package needs to know."""

    base_url: str
    app_id: str
    developer_name: str = "Kizuna"
    website_url: str | None = None
    privacy_url: str | None = None
    terms_url: str | None = None
    version: str | None = None
    # The Application ID URI of the app registration's exposed API (``KIZUNA_TEAMS_APP_ID_URI``); None:
    # ``api://<host of base_url>/<app id>``.
    app_id_uri: str | None = None


def package_version() -> str:
    """The installed Kizuna version (semver) for the manifest."""
    try:
        return version("kizuna")
    except PackageNotFoundError:
        return "0.1.0"


def _check(options: PackageOptions) -> str:
    parts = urlsplit(options.base_url)
    if parts.scheme != "https" or not parts.hostname:
        raise ManifestError(f"--base-url must be an https:// URL (Teams requires HTTPS), not {options.base_url!r}")
    if not options.app_id:
        raise ManifestError("MICROSOFT_APP_ID is empty: the package needs the Azure bot's Microsoft App ID")
    if not _GUID.match(options.app_id):
        raise ManifestError(f"MICROSOFT_APP_ID must be a GUID (the Azure bot's app id), not {options.app_id!r}")
    return parts.hostname


def build_manifest(options: PackageOptions) -> dict[str, Any]:
    """The manifest.json content (English defaults; Japanese in ``ja.json``)."""
    host = _check(options)
    base = options.base_url.rstrip("/")
    en = TEXT["en"]
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": options.version or package_version(),
        "id": options.app_id,
        "localizationInfo": {"defaultLanguageTag": "en",
                             "additionalLanguages": [{"languageTag": "ja", "file": "ja.json"}]},
        "developer": {
            "name": options.developer_name[:32],
            "websiteUrl": options.website_url or base + "/",
            "privacyUrl": options.privacy_url or base + "/teams/privacy",
            "termsOfUseUrl": options.terms_url or base + "/teams/terms",
        },
        "name": {"short": en["name.short"], "full": en["name.full"]},
        "description": {"short": en["description.short"], "full": en["description.full"]},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [{
            "botId": options.app_id,
            "scopes": _BOT_SCOPES,
            "isNotificationOnly": False,
            "supportsFiles": False,
            "commandLists": [{
                "scopes": _BOT_SCOPES,
                "commands": [{"title": en[f"command.{c}"], "description": en[f"command.{c}.description"]}
                             for c in _COMMANDS],
            }],
        }],
        "composeExtensions": [{
            "botId": options.app_id,
            "commands": [{
                "id": COMMAND_ID,
                "type": "action",
                "title": en["extension.title"],
                "description": en["extension.description"],
                "context": ["compose", "commandBox", "message"],
                "fetchTask": True,
                "parameters": [{"name": "message", "title": en["parameter.title"],
                                "description": en["parameter.description"], "inputType": "textarea"}],
            }, {
                "id": MEETING_COMMAND_ID,
                "type": "action",
                "title": translate("en", "teams.meeting.extension.title"),
                "description": translate("en", "teams.meeting.extension.description"),
                "context": ["compose", "commandBox"],
                "fetchTask": True,
                "parameters": [{"name": "title", "title": translate("en", "teams.meeting.form.title"),
                                "description": translate("en", "teams.meeting.form.title_placeholder"),
                                "inputType": "text"}],
            }],
        }],
        # The personal app keeps the bot's chat first ("conversations"), then the dashboard; a channel or chat
        # tab is the same page, added through its configuration page.
        "staticTabs": [
            {"entityId": "conversations", "scopes": ["personal"]},
            {"entityId": "insights", "name": en["tab.insights"], "contentUrl": base + TAB_PATH,
             "websiteUrl": base + "/dashboard", "scopes": ["personal"]},
        ],
        "configurableTabs": [{
            "configurationUrl": base + TAB_PATH + "/configure",
            "canUpdateConfiguration": False,
            "scopes": ["team", "groupChat"],
            "context": ["channelTab", "privateChatTab", "meetingChatTab"],
        }],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host],
        # Tab single sign-on: TeamsJS ``getAuthToken`` asks Entra ID for a token for this resource.
        "webApplicationInfo": {"id": options.app_id,
                               "resource": options.app_id_uri or f"api://{host}/{options.app_id}"},
    }


def build_localization(language: str) -> dict[str, Any]:
    """A ``<lang>.json`` localization file (same keys as the manifest's texts)."""
    text = TEXT[language]
    data: dict[str, Any] = {
        "$schema": LOCALIZATION_SCHEMA,
        "name.short": text["name.short"],
        "name.full": text["name.full"],
        "description.short": text["description.short"],
        "description.full": text["description.full"],
        "composeExtensions[0].commands[0].title": text["extension.title"],
        "composeExtensions[0].commands[0].description": text["extension.description"],
        "composeExtensions[0].commands[0].parameters[0].title": text["parameter.title"],
        "composeExtensions[0].commands[0].parameters[0].description": text["parameter.description"],
        "composeExtensions[0].commands[1].title": translate(language, "teams.meeting.extension.title"),
        "composeExtensions[0].commands[1].description": translate(language, "teams.meeting.extension.description"),
        "composeExtensions[0].commands[1].parameters[0].title": translate(language, "teams.meeting.form.title"),
        "composeExtensions[0].commands[1].parameters[0].description": translate(
            language, "teams.meeting.form.title_placeholder"),
        "staticTabs[1].name": text["tab.insights"],
    }
    for i, command in enumerate(_COMMANDS):
        data[f"bots[0].commandLists[0].commands[{i}].title"] = text[f"command.{command}"]
        data[f"bots[0].commandLists[0].commands[{i}].description"] = text[f"command.{command}.description"]
    return data


# ---- icons --------------------------------------------------------------------------------------

Pixel = tuple[int, int, int, int]


def png(width: int, height: int, pixel: Callable[[float, float], Pixel]) -> bytes:
    """An RGBA PNG where ``pixel(x, y)`` (pixel centres, 0..width) gives each colour."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            rows.extend(pixel(x + 0.5, y + 0.5))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
            + chunk(b"IEND", b""))


def _coverage(distance: float, scale: float) -> float:
    """Anti-aliased coverage of a shape edge ``distance`` px outside (negative = inside)."""
    return max(0.0, min(1.0, 0.5 - distance / scale))


def _rings(x: float, y: float, size: float) -> float:
    """Two interlocking rings (絆, bonds): coverage 0..1 at (x, y) for an icon of ``size`` px."""
    r, w = size * 0.22, size * 0.07
    cy = size / 2
    best = 0.0
    for cx in (size * 0.38, size * 0.62):
        ring = abs(math.hypot(x - cx, y - cy) - r) - w / 2
        best = max(best, _coverage(ring, 1.0))
    return best


def color_icon(size: int = 192) -> bytes:
    """The full-colour icon: white rings on the accent colour, filling the square."""

    def pixel(x: float, y: float) -> Pixel:
        c = _rings(x, y, size)
        r, g, b = (round(a * (1 - c) + 255 * c) for a in ACCENT)
        return (r, g, b, 255)

    return png(size, size, pixel)


def outline_icon(size: int = 32) -> bytes:
    """The outline icon: white rings on a transparent background (Teams' rule for outline icons)."""

    def pixel(x: float, y: float) -> Pixel:
        return (255, 255, 255, round(255 * _rings(x, y, size)))

    return png(size, size, pixel)


def build_package(options: PackageOptions) -> bytes:
    """The zip Teams accepts: ``manifest.json``, ``ja.json``, ``color.png``, ``outline.png`` at the root."""
    manifest = build_manifest(options)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        archive.writestr("ja.json", json.dumps(build_localization("ja"), ensure_ascii=False, indent=2))
        archive.writestr("color.png", color_icon(192))
        archive.writestr("outline.png", outline_icon(32))
    return buffer.getvalue()


def write_package(options: PackageOptions, out: Path) -> Path:
    """Write the package to ``out``."""
    data = build_package(options)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out
