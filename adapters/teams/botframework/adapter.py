"""The Teams adapter: ``POST /api/messages`` through botbuilder's ``CloudAdapter``, and outbox delivery.

The HTTP handler owns what the SDK gets wrong (platform notes A.2): bodies are parsed here (400
for anything that is not an activity, never 500), authentication runs first and on its own
(``adapters.teams.tokens``, not the SDK's validator), so every failure of a token — missing,
garbage, expired, wrong audience or service URL, unknown key — is a 401, decided before the
signing keys are needed whenever it can be, while a failure inside the bot is never mistaken for one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, CallerIdConstants, ChannelAccount, ConversationParameters, ResourceResponse
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    ChannelValidation,
    ClaimsIdentity,
    ServiceClientCredentialsFactory,
)
from botframework.connector.auth._built_in_bot_framework_authentication import (
    _BuiltinBotFrameworkAuthentication,
)
from botframework.connector.auth._connector_factory_impl import _ConnectorFactoryImpl
from msrest.exceptions import ClientRequestError

from adapters.contract import DeliveryFailed, OutgoingMessage
from adapters.teams.botframework import activity as act
from adapters.teams.botframework.handler import KizunaTeamsBot
from adapters.teams.botframework.sdk import (
    RetryPolicy,
    apply_sdk_fixes,
    call_with_retries,
    error_detail,
    refused_for_good,
    retry_after_of,
    status_of,
)
from adapters.teams.botframework.wire import ConnectorSender
from adapters.teams.entra import METADATA_URL as ENTRA_METADATA_URL
from adapters.teams.entra import EntraTokens
from adapters.teams.people import aad_reverse_key, upn_key
from adapters.teams.render import group_chat_link, render_card
from adapters.teams.settings import TeamsSettings
from adapters.teams.tab import TeamsTab
from adapters.teams.tokens import ChannelTokens, KeyPolicy, SigningKeys, SigningKeysUnavailable, TokenRefused
from cards.model import NoticeMessage
from cards.text import render_text
from core import outage
from core.app.identities import DEFAULT_TTL as DEFAULT_IDENTITY_TTL
from core.config import ConfigurationError, Settings
from core.i18n import translate
from core.models import Address, Member, Workspace
from core.services.addresses import AddressWrite, channel_key, get_addresses, store_addresses
from core.services.members import Person, ensure_members
from core.text import NestedTooDeeply, parse_json

log = logging.getLogger("kizuna.teams")

ROUTE = "/api/messages"
# Every answer goes to the activity's serviceUrl; Teams' are under a hundred characters, and far
# longer URLs are refused by HTTP servers (414, or 400), so such an activity could never be answered.
MAX_SERVICE_URL_LENGTH = 2048
# How long the tab's sign-in waits for Teams to name a person Kizuna has never seen.
LOOKUP_BUDGET = 5.0


class BotConfiguration:
    """The attribute bag ``ConfigurationBotFrameworkAuthentication`` reads (``APP_ID``, ``APP_TYPE``…)."""

    def __init__(self, teams: TeamsSettings, overrides: Mapping[str, Any] | None = None) -> None:
        self.APP_ID = teams.app_id
        self.APP_PASSWORD = teams.app_password
        self.APP_TENANTID = teams.app_tenant_id
        # Emulator mode (no app id): authentication is off, which the SDK only allows as "MultiTenant".
        self.APP_TYPE = "MultiTenant" if teams.emulator else teams.sdk_app_type()
        for key, value in (overrides or {}).items():
            setattr(self, key, value)


class KizunaCloudAdapter(CloudAdapter):  # type: ignore[misc]
    """``CloudAdapter`` whose outgoing calls are retried on 429/412/502/503/504 (the SDK never retries),
    whose messages go out through ``ConnectorSender`` (aiohttp) instead of msrest + requests, and
    which reuses its Bot Connector clients instead of building two msrest clients on every turn."""

    # Distinct (app id, audience, service URL) keys are few (one per Teams region); the bound only
    # guards against a flood of made-up service URLs.
    MAX_CACHED_CLIENTS = 256

    def __init__(self, authentication: ConfigurationBotFrameworkAuthentication, retry: RetryPolicy,
                 sender: ConnectorSender) -> None:
        super().__init__(authentication)
        self.retry = retry
        self.sender = sender
        self._connectors: dict[tuple[Any, ...], ConnectorClient] = {}
        self._user_token_clients: dict[str, Any] = {}

    async def process_activity(self, auth: str | AuthenticateRequestResult, activity: Activity,
                               logic: Callable[[TurnContext], Awaitable[Any]]) -> InvokeResponse | None:
        """``CloudAdapterBase.process_activity`` with cached connector and user-token clients.

        The SDK builds a ``ConnectorClient`` and a ``UserTokenClient`` (two msrest pipelines) per
        turn, about a millisecond of CPU; they only depend on the bot's app id, the audience and
        the service URL, so one per key is kept (what the SDK's older ``BotFrameworkAdapter`` did).
        Authentication is unchanged: a header is validated by the SDK exactly as before, and an
        ``AuthenticateRequestResult`` is the SDK's own result.
        """
        if isinstance(auth, str):
            auth = await self.bot_framework_authentication.authenticate_request(activity, auth)
        activity.caller_id = auth.caller_id
        if auth.connector_factory is None:
            raise RuntimeError("Unable to extract ConnectorClient from turn context.")
        connector_client = await self.connector_client(auth.connector_factory, activity.service_url, auth.audience)
        user_token_client = await self._user_token_client(auth.claims_identity)
        context = self._create_turn_context(activity, auth.claims_identity, auth.audience, connector_client,
                                            user_token_client, logic, auth.connector_factory)
        await self.run_pipeline(context, logic)
        response: InvokeResponse | None = self._process_turn_results(context)
        return response

    async def connector_client(self, factory: Any, service_url: str, audience: str | None) -> ConnectorClient:
        """The connector client ``factory.create(service_url, audience)`` would build, reused per key."""
        key = _connector_key(factory, service_url, audience)
        if key is None:  # an SDK factory this code does not know: no reuse
            client: ConnectorClient = await factory.create(service_url, audience)
            return client
        cached = self._connectors.get(key)
        if cached is None:
            cached = await factory.create(service_url, audience)
            if len(self._connectors) >= self.MAX_CACHED_CLIENTS:
                self._connectors.clear()
            self._connectors[key] = cached
        return cached

    async def _user_token_client(self, claims: Any) -> Any:
        app_id = str(_BuiltinBotFrameworkAuthentication.get_app_id(claims) or "")
        cached = self._user_token_clients.get(app_id)
        if cached is None:
            cached = await self.bot_framework_authentication.create_user_token_client(claims)
            if len(self._user_token_clients) >= self.MAX_CACHED_CLIENTS:
                self._user_token_clients.clear()
            self._user_token_clients[app_id] = cached
        return cached

    async def send_activities(self, context: TurnContext, activities: list[Activity]) -> list[ResourceResponse]:
        send = super().send_activities
        responses: list[ResourceResponse] = []
        for activity in activities:
            # One at a time, so a retry never sends an activity that already went out.
            if activity.type in ("message", "typing") and activity.conversation and activity.service_url:
                client = context.turn_state.get(self.BOT_CONNECTOR_CLIENT_KEY)
                credentials = getattr(getattr(client, "config", None), "credentials", None)
                activity.id = None
                new_id = await call_with_retries(
                    partial(self.sender.send, credentials, activity.service_url, activity.conversation.id, activity,
                            reply_to_id=activity.reply_to_id), self.retry, what="send activity")
                responses.append(ResourceResponse(id=new_id))
                continue
            sent: list[ResourceResponse] = await call_with_retries(
                partial(send, context, [activity]), self.retry, what="send activity")
            responses.extend(sent)
        return responses

    async def update_activity(self, context: TurnContext, activity: Activity) -> ResourceResponse | None:
        update = super().update_activity
        result: ResourceResponse | None = await call_with_retries(
            partial(update, context, activity), self.retry, what="update activity")
        return result


class TeamsAdapter:
    """Teams on the one aiohttp app (the Kizuna ``Adapter`` contract)."""

    name = "teams"
    platform = "teams"

    def __init__(self, settings: Settings, *, auth_overrides: Mapping[str, Any] | None = None,
                 credentials_factory: ServiceClientCredentialsFactory | None = None,
                 retry: RetryPolicy | None = None, invoke_budget: float = 4.0,
                 identity_ttl: float = DEFAULT_IDENTITY_TTL, key_policy: KeyPolicy | None = None,
                 entra_metadata_url: str = ENTRA_METADATA_URL) -> None:
        self.teams = TeamsSettings.read(settings)
        self.teams.check(settings)
        apply_sdk_fixes()
        self.settings = settings
        self.app_id = self.teams.app_id
        self.retry = retry or RetryPolicy()
        # Teams gives an invoke 5 s (composeExtension/submitAction); keep a second for everything else.
        self.invoke_budget = invoke_budget
        # How long a workspace/member row read by a turn that needs no rights is reused (core.app.identities).
        self.identity_ttl = identity_ttl
        self.configuration = BotConfiguration(self.teams, auth_overrides)
        try:
            self.authentication = ConfigurationBotFrameworkAuthentication(
                self.configuration, credentials_factory=credentials_factory)
        except ConfigurationError:
            raise
        except Exception as error:  # the SDK raises bare Exceptions for missing settings
            raise ConfigurationError(f"Teams (Bot Framework) configuration: {error}") from error
        # Channel tokens are checked here, not by the SDK (docs/design.md "Teams tokens"); emulator mode has none.
        self.tokens = None if self.teams.emulator else ChannelTokens(
            self.app_id, SigningKeys(_setting(self.configuration, "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL",
                                              ChannelValidation.open_id_metadata_endpoint
                                              or AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL),
                                     key_policy),
            issuer=_setting(self.configuration, "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER",
                            AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER))
        # The dashboard tab's single sign-on (Entra ID tokens; ``entra_metadata_url`` has a ``{tenant}``).
        self.tab = TeamsTab(self.teams, None if self.teams.emulator else EntraTokens(
            app_id=self.app_id, app_id_uri=self.teams.app_id_uri(settings.base_url),
            metadata_url=entra_metadata_url, policy=key_policy), lookup=self.member_by_entra_id,
            public_url=settings.base_url)
        self.sender = ConnectorSender()
        self.cloud = KizunaCloudAdapter(self.authentication, self.retry, self.sender)
        self.bot = KizunaTeamsBot(self)
        self._tasks: set[asyncio.Future[Any]] = set()

    # ---- the Adapter contract -----------------------------------------------------------------

    def mount(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.handle)
        self.tab.mount(app)
        # The app package's default privacy and terms links (manifest "developer" URLs).
        app.router.add_get("/teams/privacy", self._page("teams.privacy"))
        app.router.add_get("/teams/terms", self._page("teams.terms"))

    @staticmethod
    def _page(message_id: str) -> Any:
        async def page(request: web.Request) -> web.Response:
            text = "\n\n".join(translate(lang, message_id) for lang in ("ja", "en"))
            return web.Response(text=text, content_type="text/plain", charset="utf-8")

        return page

    async def start(self) -> None:
        if self.teams.emulator:
            log.warning("Teams runs in local emulator mode: MICROSOFT_APP_ID is empty, requests are not authenticated")

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10)
        await self.sender.close()
        await self.tab.close()
        if self.tokens is not None:
            await self.tokens.keys.close()

    def track(self, task: asyncio.Future[Any]) -> None:
        """Keep a background post alive until it ends (and let ``close`` wait for it)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def public_url(self) -> str:
        """Where people reach Kizuna: ``Settings.base_url``."""
        return self.settings.base_url

    @property
    def admin_ids(self) -> tuple[str, ...]:
        """Entra object ids the operator made admins (``KIZUNA_TEAMS_ADMIN_IDS``)."""
        return tuple(self.teams.admin_ids)

    # ---- inbound ------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``POST /api/messages``: parse, authenticate, run the bot turn, answer the invoke."""
        if "json" not in (request.content_type or ""):
            return _problem(415, "Content-Type must be application/json")
        raw = await request.read()
        try:
            body = parse_json(raw)  # strings made storable: no NUL, no lone surrogates (core.text)
        except NestedTooDeeply as deep:
            return _problem(400, str(deep))
        except (UnicodeDecodeError, ValueError):
            return _problem(400, "the body is not JSON")
        activity, why = parse_activity(body)
        if activity is None:
            return _problem(400, why)
        auth_header = request.headers.get("Authorization", "")
        if self.app_id and not auth_header:
            return _problem(401, "missing Authorization header")
        try:
            authenticated = await self.authenticate(activity, auth_header)
        except SigningKeysUnavailable:  # only a token that passed every check but the signature gets here
            return _problem(503, "cannot validate tokens right now", retry_after=5)
        except TokenRefused as refused:
            log.info("unauthorized request to %s: %s", ROUTE, refused)
            return _problem(401, "unauthorized")
        try:
            response = await self.cloud.process_activity(authenticated, activity, self.bot.on_turn)
        except Exception as error:
            if refused_for_good(error):
                # The turn ran; only its answer was refused, and would be again: a 503 would make Teams
                # deliver the activity again and again. Nothing unexpected happened, so no traceback.
                log.warning("activity %.80s (%.40s): the Bot Connector refused its answer: %s", activity.id,
                            activity.type, error_detail(error))
                return web.json_response({}) if activity.type == "invoke" else web.Response(status=201)
            await outage.report(log, error, "activity %.80s (%.40s) failed", activity.id, activity.type)
            return _problem(503, "temporarily unavailable", retry_after=1)
        if response is not None:
            body_out = response.body
            return web.Response(status=int(response.status or 200),
                                text=json.dumps(body_out if body_out is not None else {}, ensure_ascii=False),
                                content_type="application/json")
        return web.Response(status=201)

    async def authenticate(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        """What the SDK's ``authenticate_request`` returns for a channel token, from our own validation.

        ``TokenRefused`` (401) or ``SigningKeysUnavailable`` (503) otherwise. In emulator mode (no
        app id) nothing is authenticated: the SDK's anonymous identity, whatever the header says.
        """
        if self.tokens is None:
            anonymous: AuthenticateRequestResult = await self.authentication.authenticate_request(activity, "")
            return anonymous
        claims = await self.tokens.validate(auth_header, service_url=str(activity.service_url),
                                            channel_id=activity.channel_id)
        identity = ClaimsIdentity(claims, True)
        result = AuthenticateRequestResult()
        result.claims_identity = identity
        result.audience = self.authentication.get_originating_audience()
        # Channel tokens (never skills): the configured CALLER_ID, or the public cloud's, as the SDK does.
        result.caller_id = _setting(self.configuration, "CALLER_ID", CallerIdConstants.public_azure_channel.value)
        result.connector_factory = self.authentication.create_connector_factory(identity)
        return result

    # ---- outbound -----------------------------------------------------------------------------

    async def connector(self, service_url: str) -> ConnectorClient:
        """A Bot Connector client for ``service_url``, authenticated as this bot."""
        claims = self.cloud.create_claims_identity(self.app_id)
        factory = self.authentication.create_connector_factory(claims)
        return await self.cloud.connector_client(factory, service_url, None)

    async def post_card(self, reference: Mapping[str, Any], card: dict[str, Any]) -> str:
        """Post an Adaptive Card into the conversation of a stored reference."""
        return await self.post(reference, act.card_activity(card))

    async def post(self, reference: Mapping[str, Any], outgoing: Activity) -> str:
        """Post ``outgoing`` into the conversation of a stored reference (a new message, not a reply)."""
        conversation = (reference.get("conversation") or {}).get("id")
        service_url = reference.get("serviceUrl")
        if not conversation or not service_url:
            raise DeliveryFailed("the stored conversation reference has no conversation or serviceUrl",
                                 permanent=True)
        client = await self.connector(str(service_url))
        outgoing.conversation = act.load_reference(dict(reference)).conversation
        outgoing.service_url = str(service_url)
        outgoing.channel_id = str(reference.get("channelId") or "msteams")
        return await call_with_retries(
            partial(self.sender.send, client.config.credentials, str(service_url), str(conversation), outgoing),
            self.retry, what="post to conversation")

    async def open_personal_chat(self, create: Mapping[str, Any]) -> dict[str, Any]:
        """Create (or find) the 1:1 chat between the bot and a user; returns its conversation reference."""
        service_url = str(create["serviceUrl"])
        tenant = str(create.get("tenantId") or "")
        user = create.get("user") or {}
        bot = create.get("bot") or {}
        parameters = ConversationParameters(
            is_group=False, bot=ChannelAccount(id=bot.get("id"), name=bot.get("name")),
            members=[ChannelAccount(id=user.get("id"), name=user.get("name"))],
            tenant_id=tenant or None, channel_data={"tenant": {"id": tenant}} if tenant else None)
        client = await self.connector(service_url)
        created = await call_with_retries(lambda: client.conversations.create_conversation(parameters),
                                          self.retry, what="create 1:1 conversation")
        return {
            "channelId": "msteams", "serviceUrl": service_url,
            "conversation": {"id": created.id, "conversationType": "personal", "tenantId": tenant or None},
            "bot": {"id": bot.get("id"), "name": bot.get("name")},
            "user": {"id": user.get("id"), "name": user.get("name")},
        }

    async def member_by_entra_id(self, workspace: Workspace, object_id: str) -> Member | None:
        """The member an Entra object id is, asked of Teams when Kizuna has never seen them (the tab's
        single sign-on), or None when Teams does not know them in a channel Kizuna is in.

        Teams is asked ``GET /v3/conversations/{channel}/members/{object id}`` in the feed channel, else
        in the channel Kizuna heard from last (a team's channels share its members); the answer is stored
        as the people picker stores it (the member, ``aad:{oid}`` and its reverse), so it is asked once.
        """
        keys = [channel_key(workspace.feed_channel)] if workspace.feed_channel else []
        latest = await Address.filter(workspace_id=workspace.id, key__startswith="channel:") \
            .order_by("-updated_at").first()
        references = [*(await get_addresses(workspace, keys)).values(), *([latest.payload] if latest else [])]
        asked: set[tuple[str, str]] = set()
        for reference in references:
            conversation = (reference.get("conversation") or {}).get("id")
            service_url = reference.get("serviceUrl")
            if not conversation or not service_url or (str(service_url), str(conversation)) in asked:
                continue
            asked.add((str(service_url), str(conversation)))
            try:  # not in the feed channel's team: perhaps in the team of the channel heard from last
                client = await self.connector(str(service_url))
                account = await asyncio.wait_for(call_with_retries(
                    partial(client.conversations.get_conversation_member, str(conversation), object_id),
                    self.retry, what="get member"), timeout=LOOKUP_BUDGET)
            except Exception as error:
                log.info("tab sign-in: Teams did not name Entra id %s: %s", object_id, error_detail(error))
                continue
            if not getattr(account, "id", None):
                continue
            person = Person(str(account.id), str(account.name) if account.name else None)
            [member] = await ensure_members(workspace, [person], [
                AddressWrite(f"aad:{object_id}", {"id": person.platform_user_id, "name": person.display_name}),
                AddressWrite(aad_reverse_key(person.platform_user_id), {"aad": object_id})])
            return member
        return None

    async def chat_link(self, workspace_external_id: str, message: NoticeMessage) -> str | None:
        """The deep link that starts a group chat with ``message.chat_with``, or None when it cannot be made.

        The link takes user principal names, which activities do not carry: each person's is asked of
        the Bot Connector once (``GET /v3/conversations/{channel}/members/{id}`` in the channel they
        share, ``chat_in``) and kept as an address. Without them the message goes without the button.
        """
        workspace = await Workspace.get_or_none(platform=self.platform, external_id=workspace_external_id)
        if workspace is None:
            return None
        people = list(dict.fromkeys(message.chat_with))
        stored = await get_addresses(workspace, [*(upn_key(p) for p in people), channel_key(message.chat_in)])
        upns = {p: str(stored[upn_key(p)]["upn"]) for p in people if stored.get(upn_key(p), {}).get("upn")}
        missing = [p for p in people if p not in upns]
        if missing:
            reference = stored.get(channel_key(message.chat_in)) or {}
            conversation = (reference.get("conversation") or {}).get("id")
            service_url = reference.get("serviceUrl")
            if not conversation or not service_url:
                log.warning("no group-chat link: channel %s has no stored reference", message.chat_in)
                return None
            client = await self.connector(str(service_url))
            learned: list[AddressWrite] = []
            for person in missing:
                try:
                    member = await call_with_retries(
                        partial(client.conversations.get_conversation_member, str(conversation), person),
                        self.retry, what="get member")
                except Exception as error:
                    log.warning("no group-chat link: could not look up a member: %s", error_detail(error))
                    return None
                upn = (getattr(member, "additional_properties", None) or {}).get("userPrincipalName")
                if not upn:
                    log.warning("no group-chat link: Teams gave no user principal name for a member")
                    return None
                upns[person] = str(upn)
                learned.append(AddressWrite(upn_key(person), {"upn": str(upn)}))
            await store_addresses(workspace, learned)
        return group_chat_link([upns[p] for p in people], message.chat_topic)

    async def deliver(self, outgoing: OutgoingMessage) -> None:
        """Send one outbox message (feed post or 1:1 notification), or raise ``DeliveryFailed``."""
        payload = dict(outgoing.address)
        try:
            message = outgoing.message
            chat_link = await self.chat_link(outgoing.workspace_external_id, message) \
                if isinstance(message, NoticeMessage) and message.chat_with else None
            activity = act.card_activity(render_card(message, chat_link=chat_link))
            if "conversation" in payload:
                await self.post(payload, activity)
                return
            if "create" in payload:
                reference = await self.open_personal_chat(payload["create"])
                workspace = await Workspace.get_or_none(platform=self.platform,
                                                        external_id=outgoing.workspace_external_id)
                if workspace is not None:
                    await store_addresses(workspace, [AddressWrite(outgoing.address_key, reference)])
                await self.post(reference, activity)
                return
        except DeliveryFailed:
            raise
        except Exception as error:
            raise _delivery_failure(outgoing, error) from error
        # Not permanent: the address may simply not be stored yet (a notification claimed the moment it
        # was committed); the outbox retries a bounded number of times, then fails the row for good.
        raise DeliveryFailed(f"no Teams conversation reference stored for {outgoing.address_key} (yet)")


def _setting(configuration: BotConfiguration, name: str, default: str) -> str:
    """A Bot Framework setting from the configuration (test overrides), else the public cloud's value."""
    return str(getattr(configuration, name, None) or default)


def _connector_key(factory: Any, service_url: str, audience: str | None) -> tuple[Any, ...] | None:
    """What a connector client built by the SDK's ``_ConnectorFactoryImpl`` depends on, or None."""
    if type(factory) is not _ConnectorFactoryImpl:
        return None
    return (factory._app_id, audience or factory._to_channel_from_bot_oauth_scope, factory._login_endpoint,
            factory._validate_authority, id(factory._credential_factory),
            id(factory._connector_client_configuration), service_url)


def _delivery_failure(outgoing: OutgoingMessage, error: BaseException) -> DeliveryFailed:
    status = status_of(error)
    detail = error_detail(error)
    log.error("Teams delivery %s (%s to %s) failed: %s; content: %s", outgoing.delivery_id, outgoing.kind,
              outgoing.address_key, detail, render_text(outgoing.message).replace("\n", " | "))
    if isinstance(error, ClientRequestError | asyncio.TimeoutError):
        status = None  # no answer at all
    return DeliveryFailed.for_status(status, detail, retry_after_of(error))


def parse_activity(body: Any) -> tuple[Activity | None, str]:
    """An activity from a JSON body, or None and why it is not one."""
    if not isinstance(body, dict):
        return None, "the body must be a JSON object (an activity)"
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        return None, "the activity has no type"
    service_url = body.get("serviceUrl")
    if not isinstance(service_url, str) or not service_url.startswith(("https://", "http://")):
        return None, "the activity has no valid serviceUrl"
    if len(service_url) > MAX_SERVICE_URL_LENGTH:
        return None, "the activity's serviceUrl is too long to be a Bot Connector's"
    conversation = body.get("conversation")
    if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str):
        return None, "the activity has no conversation id"
    sender = body.get("from")
    if sender is not None and (not isinstance(sender, dict) or not isinstance(sender.get("id", ""), str)):
        return None, "the activity's from is malformed"
    for name in ("entities", "membersAdded", "membersRemoved", "attachments"):
        if name in body and body[name] is not None and not isinstance(body[name], list):
            return None, f"the activity's {name} must be a list"
    recipient, channel_data = body.get("recipient"), body.get("channelData")
    tenant = channel_data.get("tenant") if isinstance(channel_data, dict) else None
    # The activity's own id too: a reply is posted to …/activities/{id}, which a huge id makes unanswerable.
    for name, holder, key in (("id", body, "id"), ("from.id", sender, "id"),
                              ("from.aadObjectId", sender, "aadObjectId"), ("recipient.id", recipient, "id"),
                              ("conversation.id", conversation, "id"),
                              ("conversation.tenantId", conversation, "tenantId"),
                              ("channelData.tenant.id", tenant, "id")):
        value = holder.get(key) if isinstance(holder, dict) else None
        if value is not None and len(str(value)) > act.MAX_ID_LENGTH:
            return None, f"the activity's {name} is too long to be a Teams id"
    if isinstance(body.get("id"), str) and not body["id"].strip():
        body = {k: v for k, v in body.items() if k != "id"}  # a blank id is no id (nothing to reply to)
    try:
        activity = act.read_activity(body)
    except Exception:  # msrest raises its own DeserializationError, or anything else on odd input
        return None, f"the activity's {_malformed_field(body)} does not match the Bot Framework schema"
    return activity, ""


def _malformed_field(body: dict[str, Any]) -> str:
    """The first top-level field the SDK cannot read on its own (for the 400; never an exception's name)."""
    for key, value in body.items():
        try:
            Activity().deserialize({key: value})
        except Exception:
            return json.dumps(key, ensure_ascii=False)[:80]
    return "content"


def _problem(status: int, message: str, *, retry_after: int | None = None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return web.json_response({"error": message}, status=status, headers=headers)
