"""The Teams adapter's own settings: the Azure Bot's app registration, the tab's app ID URI and extra admins, from the
environment."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from core.config import ConfigurationError, Settings

APP_TYPES = {"singletenant": "SingleTenant", "multitenant": "MultiTenant", "userassignedmsi": "UserAssignedMSI"}


@dataclass(frozen=True)
class TeamsSettings:
    """``MICROSOFT_APP_ID``, ``…_PASSWORD``, ``…_TENANT_ID``, ``…_TYPE``, ``KIZUNA_TEAMS_APP_ID_URI`` and
    ``KIZUNA_TEAMS_ADMIN_IDS``."""

    app_id: str = ""
    app_password: str = ""
    app_tenant_id: str = ""
    app_type: str = "SingleTenant"
    admin_ids: tuple[str, ...] = ()
    # The Application ID URI the app registration exposes its API under ("Expose an API"); empty: the default.
    app_id_uri_setting: str = ""

    @classmethod
    def read(cls, settings: Settings) -> TeamsSettings:
        """The variables as they are, unchecked (``check`` says whether Teams can be served with them)."""
        return cls(
            app_id=settings.env("MICROSOFT_APP_ID"),
            app_password=settings.env("MICROSOFT_APP_PASSWORD"),
            app_tenant_id=settings.env("MICROSOFT_APP_TENANT_ID"),
            app_type=settings.env("MICROSOFT_APP_TYPE", "SingleTenant"),
            admin_ids=tuple(settings.env("KIZUNA_TEAMS_ADMIN_IDS").replace(",", " ").split()),
            app_id_uri_setting=settings.env("KIZUNA_TEAMS_APP_ID_URI"),
        )

    def app_id_uri(self, public_url: str) -> str:
        """The tab's single sign-on resource: ``KIZUNA_TEAMS_APP_ID_URI``, else ``api://<public host>/<app id>``
        (the form Teams requires for tab SSO: the host the tab is served from, then the app id)."""
        if self.app_id_uri_setting:
            return self.app_id_uri_setting.rstrip("/")
        return f"api://{urlsplit(public_url).hostname or 'localhost'}/{self.app_id}"

    @property
    def emulator(self) -> bool:
        """No app id: the local emulator mode, where requests are not authenticated."""
        return not self.app_id

    def sdk_app_type(self) -> str:
        """``MICROSOFT_APP_TYPE`` spelled as the SDK wants it; ``ConfigurationError`` for an unknown one."""
        app_type = APP_TYPES.get(self.app_type.lower())
        if app_type is None:
            raise ConfigurationError(
                f"MICROSOFT_APP_TYPE={self.app_type!r} is not one of SingleTenant, MultiTenant, UserAssignedMSI")
        return app_type

    def check(self, settings: Settings) -> None:
        """Refuse, before anything starts, a Teams configuration that cannot work."""
        app_type = self.sdk_app_type()
        if self.emulator:
            check_emulator_on_loopback(settings)
            return
        if app_type in ("SingleTenant", "UserAssignedMSI") and not self.app_tenant_id:
            raise ConfigurationError(
                f"MICROSOFT_APP_TYPE={app_type} needs MICROSOFT_APP_TENANT_ID (the Directory (tenant) ID of the "
                "Azure bot's app registration). New Azure bots are single-tenant.")
        if app_type != "UserAssignedMSI" and not self.app_password:
            raise ConfigurationError(
                "MICROSOFT_APP_ID is set but MICROSOFT_APP_PASSWORD (the client secret) is empty.")


def check_emulator_on_loopback(settings: Settings) -> None:
    """The one rule for emulator mode (no authentication): only on a loopback address."""
    if not settings.binds_loopback:
        raise ConfigurationError(
            f"MICROSOFT_APP_ID is empty, so Teams runs in local emulator mode without authentication; that is "
            f"only allowed on a loopback address, not KIZUNA_HOST={settings.host}. Set MICROSOFT_APP_ID (and "
            "MICROSOFT_APP_PASSWORD, MICROSOFT_APP_TENANT_ID), bind to 127.0.0.1, or set KIZUNA_ADAPTERS "
            "without teams.")
