"""``kizuna teams manifest --base-url https://HOST --out kizuna-teams.zip``: the Teams app package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from adapters.teams.manifest import ManifestError, PackageOptions, write_package
from adapters.teams.settings import TeamsSettings
from core.config import Settings


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``teams manifest`` to the ``kizuna`` CLI; each leaf sets ``func(args) -> exit code``."""
    teams: argparse.ArgumentParser = subparsers.add_parser("teams", help="Microsoft Teams: app package")
    commands = teams.add_subparsers(dest="teams_command", metavar="COMMAND")
    commands.required = True
    manifest = commands.add_parser(
        "manifest", help="write the Teams app package (manifest 1.29, icons) to upload in Teams",
        description="Write a Teams app package: manifest.json (bot + 'Send thanks' message extension), "
                    "ja.json, color.png (192x192) and outline.png (32x32). The bot id is MICROSOFT_APP_ID.")
    manifest.add_argument("--base-url", required=True,
                          help="public https:// URL where Kizuna runs (its /api/messages is the messaging endpoint)")
    manifest.add_argument("--out", default="kizuna-teams.zip", type=Path, help="zip file to write")
    manifest.add_argument("--app-id", default=None, help="Microsoft App ID (default: MICROSOFT_APP_ID)")
    manifest.add_argument("--developer-name", default="Kizuna", help="developer name shown in Teams (≤ 32)")
    manifest.add_argument("--website-url", default=None, help="default: the base URL")
    manifest.add_argument("--privacy-url", default=None, help="default: BASE/teams/privacy")
    manifest.add_argument("--terms-url", default=None, help="default: BASE/teams/terms")
    manifest.add_argument("--version", dest="package_version", default=None,
                          help="app version (semver; default: Kizuna's version). Raise it for every re-upload.")
    manifest.set_defaults(func=run_manifest)
    return teams


def run_manifest(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
                 stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Build and write the package; prints where it went, or why it could not."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    teams = TeamsSettings.read(Settings.from_env(environ))
    options = PackageOptions(
        base_url=args.base_url, app_id=(args.app_id or teams.app_id).strip(),
        developer_name=args.developer_name, website_url=args.website_url, privacy_url=args.privacy_url,
        terms_url=args.terms_url, version=args.package_version,
        app_id_uri=teams.app_id_uri_setting or None)
    try:
        path = write_package(options, Path(args.out))
    except ManifestError as error:
        print(f"kizuna teams manifest: {error}", file=err)
        return 2
    print(f"wrote {path} (bot id {options.app_id}); upload it in Teams: Apps → Manage your apps → "
          "Upload an app", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run this command on its own (``python -m adapters.teams.cli manifest …``)."""
    parser = argparse.ArgumentParser(prog="kizuna")
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["teams", *(sys.argv[1:] if argv is None else argv)])
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
