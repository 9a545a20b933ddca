"""The Teams app package validates against the saved manifest 1.29 schema; icons are what Teams asks for."""

from __future__ import annotations

import argparse
import io
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path

import jsonschema
import pytest

from adapters.teams.cli import add_cli, run_manifest
from adapters.teams.manifest import ManifestError, PackageOptions, build_manifest, build_package

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
APP_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def manifest_validator() -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / "teams-manifest-1.29.schema.json").read_text(encoding="utf-8"))
    # Draft 7 enforces `const` (manifestVersion) and `if` that Draft 4 ignores (SOURCES.md, gotcha 2).
    return jsonschema.Draft7Validator(schema)


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    idat = b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = body
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 6)  # 8-bit RGBA
    raw = zlib.decompress(idat)
    pixels = []
    stride = width * 4 + 1
    for y in range(height):
        row = raw[y * stride + 1:(y + 1) * stride]
        pixels.extend(tuple(row[i:i + 4]) for i in range(0, len(row), 4))
    return width, height, pixels


def test_package_validates_and_names_the_bot(manifest_validator):
    data = build_package(PackageOptions(base_url="https://kizuna.example.com", app_id=APP_ID))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(archive.namelist()) == ["color.png", "ja.json", "manifest.json", "outline.png"]
    manifest = json.loads(archive.read("manifest.json"))
    errors = sorted(manifest_validator.iter_errors(manifest), key=str)
    assert not errors, [e.message for e in errors]
    assert manifest["manifestVersion"] == "1.29"
    assert manifest["bots"][0]["botId"] == APP_ID
    assert manifest["composeExtensions"][0]["botId"] == APP_ID
    command = manifest["composeExtensions"][0]["commands"][0]
    assert command["type"] == "action" and command["fetchTask"] is True
    assert command["context"] == ["compose", "commandBox", "message"]
    assert command["parameters"][0]["name"] == "message"
    meeting = manifest["composeExtensions"][0]["commands"][1]
    assert (meeting["id"], meeting["type"], meeting["fetchTask"]) == ("scheduleMeeting", "action", True)
    assert meeting["context"] == ["compose", "commandBox"]
    assert len(meeting["title"]) <= 32 and len(meeting["description"]) <= 128
    assert manifest["validDomains"] == ["kizuna.example.com"]
    assert manifest["developer"]["privacyUrl"] == "https://kizuna.example.com/teams/privacy"
    # Every key of the Japanese localization names a text that exists in the manifest.
    ja = json.loads(archive.read("ja.json"))
    for key in ja:
        if key == "$schema":
            continue
        node = manifest
        for part in re.findall(r"[^.\[\]]+", key):
            node = node[int(part)] if part.isdigit() else node[part]
        assert isinstance(node, str)
    assert ja["composeExtensions[0].commands[0].title"] == "感謝を送る"
    assert ja["composeExtensions[0].commands[1].title"] == "ミーティングを予定"


def test_an_old_manifest_version_is_rejected_by_the_draft7_validator(manifest_validator):
    manifest = build_manifest(PackageOptions(base_url="https://kizuna.example.com", app_id=APP_ID))
    manifest["manifestVersion"] = "1.17"
    assert any("1.29" in e.message for e in manifest_validator.iter_errors(manifest))


def test_icons_are_192_colour_and_32_white_on_transparent():
    archive = zipfile.ZipFile(io.BytesIO(build_package(PackageOptions("https://h.example", APP_ID))))
    width, height, colour = read_png(archive.read("color.png"))
    assert (width, height) == (192, 192)
    assert all(p[3] == 255 for p in colour)  # opaque
    assert len({p[:3] for p in colour}) > 2
    width, height, outline = read_png(archive.read("outline.png"))
    assert (width, height) == (32, 32)
    assert all(p[:3] == (255, 255, 255) for p in outline)  # white only
    alphas = {p[3] for p in outline}
    assert 0 in alphas and 255 in alphas  # transparent background, solid strokes


@pytest.mark.parametrize(("base_url", "app_id", "why"), [
    ("http://kizuna.example.com", APP_ID, "https"),
    ("https://kizuna.example.com", "", "MICROSOFT_APP_ID is empty"),
    ("https://kizuna.example.com", "not-a-guid", "GUID"),
])
def test_bad_inputs_are_explained(base_url, app_id, why):
    with pytest.raises(ManifestError, match=why):
        build_manifest(PackageOptions(base_url=base_url, app_id=app_id))


def test_cli_writes_the_package(tmp_path, manifest_validator):
    parser = argparse.ArgumentParser(prog="kizuna")
    add_cli(parser.add_subparsers(dest="command"))
    out = tmp_path / "kizuna-teams.zip"
    args = parser.parse_args(["teams", "manifest", "--base-url", "https://kizuna.example.com", "--out", str(out)])
    stdout, stderr = io.StringIO(), io.StringIO()
    code = args.func(args, environ={"MICROSOFT_APP_ID": APP_ID}, stdout=stdout, stderr=stderr)
    assert code == 0, stderr.getvalue()
    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert not list(manifest_validator.iter_errors(manifest))
    assert manifest["bots"][0]["botId"] == APP_ID
    assert str(out) in stdout.getvalue()


def test_cli_explains_a_missing_app_id(tmp_path):
    args = argparse.Namespace(base_url="https://kizuna.example.com", out=tmp_path / "x.zip", app_id=None,
                              developer_name="Kizuna", website_url=None, privacy_url=None, terms_url=None,
                              package_version=None)
    stderr = io.StringIO()
    assert run_manifest(args, environ={}, stdout=io.StringIO(), stderr=stderr) == 2
    assert "MICROSOFT_APP_ID" in stderr.getvalue()
    assert not (tmp_path / "x.zip").exists()
