"""The package metadata installs without deprecation warnings."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_licence_is_an_spdx_expression_that_setuptools_understands():
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    # The `{ text = ... }` table is deprecated (a warning on every install); PEP 639 wants the SPDX string.
    assert project["project"]["license"] == "MIT"
    setuptools = next(Requirement(r) for r in project["build-system"]["requires"]
                      if Requirement(r).name == "setuptools")
    # setuptools reads an SPDX `license` string from version 77 on.
    assert not setuptools.specifier.contains(Version("76.9"))
    assert setuptools.specifier.contains(Version("77.0"))
