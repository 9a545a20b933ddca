"""Microsoft Teams adapter (Bot Framework SDK 4.17, ``CloudAdapter``): every botbuilder import lives here.

Only the modules that speak the Bot Framework protocol import the SDK: ``adapter`` (HTTP, auth,
outbound), ``handler`` (the activity handler), ``activity`` (reading activities), ``sdk`` (its
work-arounds) and ``wire`` (the connector fast path). ``text``, ``invokes``, ``people``,
``outcomes``, ``dialog``, ``meetings`` and ``render`` work on plain data (``incoming``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.contract import AdapterContext
    from adapters.teams.adapter import TeamsAdapter


def create_adapter(context: AdapterContext) -> TeamsAdapter:
    """The ``kizuna.adapters`` entry point: Teams is always available (emulator mode without an app id).

    Raises ``core.config.ConfigurationError`` for a configuration that cannot work (e.g. a
    single-tenant bot without ``MICROSOFT_APP_TENANT_ID``).
    """
    from adapters.teams.adapter import TeamsAdapter

    return TeamsAdapter(context.settings)
