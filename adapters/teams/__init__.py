"""Microsoft Teams adapter (Bot Framework SDK 4.17, ``CloudAdapter``).

Every botbuilder import lives in one package, ``adapters.teams.botframework`` (the HTTP endpoint and
its authentication, the activity handler, reading activities, the SDK's work-arounds, the test kit);
an import-linter contract keeps it so. ``text``, ``invokes``, ``people``, ``outcomes``, ``dialog``,
``meetings`` and ``render`` work on plain data (``incoming``), so replacing the SDK touches that
package only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.contract import AdapterContext
    from adapters.teams.botframework.adapter import TeamsAdapter


def create_adapter(context: AdapterContext) -> TeamsAdapter:
    """The ``kizuna.adapters`` entry point: Teams is always available (emulator mode without an app id).

    Raises ``core.config.ConfigurationError`` for a configuration that cannot work (e.g. a
    single-tenant bot without ``MICROSOFT_APP_TENANT_ID``).
    """
    from adapters.teams.botframework.adapter import TeamsAdapter

    return TeamsAdapter(context.settings)
