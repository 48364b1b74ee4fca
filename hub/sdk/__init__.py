"""The connector SDK: everything a connector imports, from one place.

A connector (built in or a third-party package found through the `hub.connectors` entry point)
imports only from `hub.sdk`; the rest of the hub is free to change underneath it. The submodules
stay importable, but these names are the supported surface. `hub.sdk.testing` is the contract suite
as a pytest plugin, kept out of this module so the hub never imports pytest at run time.
"""

from __future__ import annotations

from hub.redaction import redact_headers
from hub.sdk.apptoken import TokenRejected, app_token, app_token_key, with_app_token
from hub.sdk.auth import ApiKeyAuth, Auth, BasicAuth, BearerAuth, OAuth2, secret_field
from hub.sdk.connector import (
    Action,
    Connector,
    PollingTrigger,
    ScheduleTrigger,
    Trigger,
    WebhookTrigger,
)
from hub.sdk.context import Context, SecretStore, TokenCache
from hub.sdk.errors import (
    AuthError,
    BlockedAddressError,
    ConnectorError,
    HubError,
    PermanentError,
    RetryableError,
    SignatureError,
)
from hub.sdk.http import HttpClient, HttpResponse, dumps_json, parse_retry_after, redact
from hub.sdk.netguard import is_forbidden_address
from hub.sdk.oauth import ensure_token
from hub.sdk.polling import NewestIdPolling, Page, TimeWindowPolling, vendor_time, with_defaults
from hub.sdk.signing import check_timestamp, hmac_base64, hmac_digest, hmac_hex, signatures_match
from hub.sdk.types import HeaderMap, InboundRequest, PollResult, TriggerEvent, WebhookResponse

__all__ = [
    "Action",
    "ApiKeyAuth",
    "Auth",
    "AuthError",
    "BasicAuth",
    "BearerAuth",
    "BlockedAddressError",
    "Connector",
    "ConnectorError",
    "Context",
    "HeaderMap",
    "HttpClient",
    "HttpResponse",
    "HubError",
    "InboundRequest",
    "NewestIdPolling",
    "OAuth2",
    "Page",
    "PermanentError",
    "PollResult",
    "PollingTrigger",
    "RetryableError",
    "ScheduleTrigger",
    "SecretStore",
    "SignatureError",
    "TimeWindowPolling",
    "TokenCache",
    "TokenRejected",
    "Trigger",
    "TriggerEvent",
    "WebhookResponse",
    "WebhookTrigger",
    "app_token",
    "app_token_key",
    "check_timestamp",
    "dumps_json",
    "ensure_token",
    "hmac_base64",
    "hmac_digest",
    "hmac_hex",
    "is_forbidden_address",
    "parse_retry_after",
    "redact",
    "redact_headers",
    "secret_field",
    "signatures_match",
    "vendor_time",
    "with_app_token",
    "with_defaults",
]
