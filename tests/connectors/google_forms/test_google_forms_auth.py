"""Google Forms credentials: the service-account JWT (verified with the public key), its cache, OAuth2."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from connectors.google_forms import connector as google_forms
from connectors.google_forms.service_account import GRANT, build_assertion
from hub.sdk.context import Context, MemoryTokenCache
from hub.sdk.errors import AuthError, RetryableError

TOKEN_URL = "https://oauth2.googleapis.com/token"
FORM = "1FAIpQLSd3example0formId"
RESPONSES_URL = f"https://forms.googleapis.com/v1/forms/{FORM}/responses"
SCOPES = "https://www.googleapis.com/auth/forms.responses.readonly https://www.googleapis.com/auth/forms.body.readonly"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_json(private: rsa.RSAPrivateKey) -> dict[str, Any]:
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "acme-hub",
        "private_key_id": "3f1c0e8a9b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e",
        "private_key": pem,
        "client_email": "forms-reader@acme-hub.iam.gserviceaccount.com",
        "client_id": "104857600000000000000",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": TOKEN_URL,
    }


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify(assertion: str, public: rsa.RSAPublicKey) -> tuple[dict[str, Any], dict[str, Any]]:
    header, claims, signature = assertion.split(".")
    public.verify(unb64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return json.loads(unb64(header)), json.loads(unb64(claims))


def sa_ctx(private: rsa.RSAPrivateKey, cache: MemoryTokenCache | None = None, **extra: Any) -> Context:
    connection = {
        "auth_type": "service_account",
        "service_account_json": json.dumps(key_json(private)),
        **extra,
    }
    return Context(
        connector=google_forms, connection=connection, connection_id=7, cache=cache or MemoryTokenCache()
    )


def test_assertion_is_rs256_signed_with_the_documented_claims(rsa_key: rsa.RSAPrivateKey) -> None:
    assertion = build_assertion(key_json(rsa_key), SCOPES, "owner@acme.example", now=1_763_900_000)
    header, claims = verify(assertion, rsa_key.public_key())
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "3f1c0e8a9b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"}
    assert claims == {
        "iss": "forms-reader@acme-hub.iam.gserviceaccount.com",
        "scope": SCOPES,
        "aud": TOKEN_URL,
        "iat": 1_763_900_000,
        "exp": 1_763_903_600,
        "sub": "owner@acme.example",
    }
    head, body, sig = assertion.split(".")
    forged = json.loads(unb64(body)) | {"sub": "ceo@acme.example"}
    forged_body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidSignature):
        verify(f"{head}.{forged_body}.{sig}", rsa_key.public_key())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidSignature):
        verify(assertion, other.public_key())


@responses.activate
def test_service_account_token_is_exchanged_once_then_cached(rsa_key: rsa.RSAPrivateKey) -> None:
    token = responses.post(
        TOKEN_URL, json={"access_token": "ya29.sa-token-1", "expires_in": 3599, "token_type": "Bearer"}
    )
    api = responses.get(RESPONSES_URL, json={})
    cache = MemoryTokenCache()
    poll = google_forms.trigger("new_response")
    before = time.time()
    poll.poll(sa_ctx(rsa_key, cache), {"form_id": FORM}, "2026-11-23T08:00:00Z")
    poll.poll(sa_ctx(rsa_key, cache), {"form_id": FORM}, "2026-11-23T08:00:00Z")
    assert len(token.calls) == 1 and len(api.calls) == 2
    sent = token.calls[0].request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = {k: v[0] for k, v in parse_qs(sent.body).items()}
    assert form["grant_type"] == GRANT == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    _, claims = verify(form["assertion"], rsa_key.public_key())
    assert claims["iss"] == "forms-reader@acme-hub.iam.gserviceaccount.com" and "sub" not in claims
    assert before - 1 <= claims["iat"] <= time.time() + 1
    for call in api.calls:
        assert call.request.headers["Authorization"] == "Bearer ya29.sa-token-1"
    [(value, expires)] = cache._data.values()
    assert value == "ya29.sa-token-1" and 3599 - 120 - 5 <= expires - time.time() <= 3599 - 120


@responses.activate
def test_a_401_drops_the_cached_token_and_retries_once_with_a_new_one(rsa_key: rsa.RSAPrivateKey) -> None:
    responses.post(TOKEN_URL, json={"access_token": "ya29.old", "expires_in": 3600})
    responses.post(TOKEN_URL, json={"access_token": "ya29.new", "expires_in": 3600})
    unauthorized = {
        "error": {
            "code": 401,
            "message": "Request had invalid authentication credentials.",
            "status": "UNAUTHENTICATED",
        }
    }
    responses.get(RESPONSES_URL, status=401, json=unauthorized)
    responses.get(RESPONSES_URL, json={})
    poll = google_forms.trigger("new_response")
    poll.poll(sa_ctx(rsa_key), {"form_id": FORM}, "2026-11-23T08:00:00Z")
    auths = [c.request.headers.get("Authorization") for c in responses.calls if c.request.method == "GET"]
    assert auths == ["Bearer ya29.old", "Bearer ya29.new"]


@responses.activate
def test_a_refused_key_is_an_auth_error_with_googles_description(rsa_key: rsa.RSAPrivateKey) -> None:
    responses.post(
        TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    )
    with pytest.raises(AuthError) as refused:
        google_forms.test_connection(sa_ctx(rsa_key))
    assert "invalid_grant" in refused.value.message and "Invalid JWT Signature." in refused.value.message
    assert "BEGIN PRIVATE KEY" not in refused.value.message


@responses.activate
def test_token_endpoint_overload_is_retryable(rsa_key: rsa.RSAPrivateKey) -> None:
    responses.post(
        TOKEN_URL, status=503, json={"error": "temporarily_unavailable"}, headers={"Retry-After": "9"}
    )
    with pytest.raises(RetryableError) as busy:
        google_forms.test_connection(sa_ctx(rsa_key))
    assert busy.value.retry_after == 9


@responses.activate
def test_test_connection_names_the_service_account(rsa_key: rsa.RSAPrivateKey) -> None:
    responses.post(TOKEN_URL, json={"access_token": "ya29.x", "expires_in": 3600})
    message = google_forms.test_connection(sa_ctx(rsa_key, subject="owner@acme.example"))
    assert message == (
        "Google Forms: service account forms-reader@acme-hub.iam.gserviceaccount.com acting as "
        "owner@acme.example obtained an access token"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"type": "authorized_user"}), "not a service account key"),
        (json.dumps({"type": "service_account", "private_key": "x"}), "has no client_email"),
        (json.dumps({"type": "service_account", "client_email": "a@b", "private_key": "nope"}), "not a PEM"),
    ],
)
def test_bad_keys_are_named(raw: str, message: str) -> None:
    ctx = Context(
        connector=google_forms, connection={"auth_type": "service_account", "service_account_json": raw}
    )
    with pytest.raises(AuthError, match=message):
        google_forms.test_connection(ctx)


@responses.activate
def test_oauth2_connection_sends_its_token_and_refreshes_an_expired_one() -> None:
    refresh = responses.post(TOKEN_URL, json={"access_token": "ya29.fresh", "expires_in": 3600})
    api = responses.get(RESPONSES_URL, json={})
    connection = {
        "auth_type": "oauth2",
        "client_id": "123.apps.googleusercontent.com",
        "client_secret": "GOCSPX-secret",
        "access_token": "ya29.stale",
        "refresh_token": "1//refresh",
        "expires_at": time.time() - 10,
    }
    ctx = Context(connector=google_forms, connection=connection)
    google_forms.trigger("new_response").poll(ctx, {"form_id": FORM}, "2026-11-23T08:00:00Z")
    form = {k: v[0] for k, v in parse_qs(refresh.calls[0].request.body).items()}
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "1//refresh",
        "client_id": "123.apps.googleusercontent.com",
        "client_secret": "GOCSPX-secret",
    }
    assert api.calls[0].request.headers["Authorization"] == "Bearer ya29.fresh"


def test_oauth2_connection_without_consent_is_an_auth_error() -> None:
    ctx = Context(connector=google_forms, connection={"client_id": "x", "client_secret": "y"})
    with pytest.raises(AuthError, match="not authorized yet"):
        google_forms.trigger("new_response").poll(ctx, {"form_id": FORM}, None)


def test_consent_url_asks_for_offline_access_and_the_forms_scopes() -> None:
    from hub.sdk.oauth import authorize_url

    url = authorize_url(
        google_forms.auth, {"client_id": "123.apps.googleusercontent.com"}, "https://hub/cb", "st"
    )
    query = {k: v[0] for k, v in parse_qs(url.split("?", 1)[1]).items()}
    assert url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["scope"] == SCOPES and query["response_type"] == "code"
