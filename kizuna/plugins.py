"""Finds and loads the installed plug-ins: adapters (``kizuna.adapters``) and CLI commands (``kizuna.cli``)."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from adapters.contract import ADAPTERS_GROUP, CLI_GROUP, Adapter, AdapterContext, AdapterDisabled
from core.config import ConfigurationError


def installed_adapters() -> dict[str, EntryPoint]:
    """Entry points of the ``kizuna.adapters`` group by name."""
    return {ep.name: ep for ep in entry_points(group=ADAPTERS_GROUP)}


def _create(name: str, ep: EntryPoint, context: AdapterContext, available: dict[str, EntryPoint]) -> Adapter:
    try:
        factory = ep.load()
    except (ImportError, AttributeError) as error:
        raise ConfigurationError(
            f"the {name} adapter ({ep.value}) cannot be loaded: {error}; installed adapters: "
            f"{', '.join(sorted(available))}. Reinstall it or leave it out of KIZUNA_ADAPTERS."
        ) from error
    adapter: Adapter = factory(context)
    return adapter


def load_adapters(context: AdapterContext) -> tuple[list[Adapter], dict[str, str]]:
    """Create every enabled adapter; returns them and ``{name: why off}`` for the others.

    Creating an adapter checks its settings, so a configuration that cannot work stops here with a
    ``ConfigurationError`` before anything starts.
    """
    available = installed_adapters()
    wanted = context.settings.adapters
    if wanted is not None:
        unknown = [name for name in wanted if name not in available]
        if unknown:
            raise ConfigurationError(
                f"KIZUNA_ADAPTERS names {', '.join(unknown)}, which is not installed; "
                f"installed adapters: {', '.join(sorted(available)) or 'none'}"
            )
    adapters: list[Adapter] = []
    off: dict[str, str] = {}
    for name, ep in sorted(available.items()):
        if wanted is not None and name not in wanted:
            off[name] = "not listed in KIZUNA_ADAPTERS"
            continue
        try:
            adapters.append(_create(name, ep, context, available))
        except AdapterDisabled as why:
            off[name] = str(why)
    return adapters, off


def load_adapter(name: str, context: AdapterContext) -> Adapter | None:
    """The installed adapter ``name`` whatever KIZUNA_ADAPTERS says; None if it is not installed or is off."""
    available = installed_adapters()
    if name not in available:
        return None
    try:
        return _create(name, available[name], context, available)
    except AdapterDisabled:
        return None


def add_cli_commands(subparsers: Any) -> None:
    """Let every ``kizuna.cli`` entry point add its sub-commands (``add_cli(subparsers)``), in name order.

    One that cannot be loaded is named on standard error and left out, so the other commands still work.
    """
    for ep in sorted(entry_points(group=CLI_GROUP), key=lambda ep: ep.name):
        try:
            add_cli = ep.load()
        except (ImportError, AttributeError) as error:
            print(f"kizuna: the {ep.name} commands ({ep.value}) cannot be loaded: {error}", file=sys.stderr)
            continue
        add_cli(subparsers)
