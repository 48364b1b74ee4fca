"""One tree of error types: connectors raise them, the engine decides what each means for a run."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.sdk.types import WebhookResponse


class HubError(Exception):
    """Base of every error the hub raises on purpose."""

    code = "hub_error"

    def __init__(self, message: str, *, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConnectorError(HubError):
    """A connector could not do its work; subclasses say whether trying again may help."""

    code = "connector_error"

    def __init__(
        self,
        message: str,
        *,
        vendor_code: str | None = None,
        status: int | None = None,
        details: object = None,
    ) -> None:
        super().__init__(message, details=details)
        self.vendor_code = vendor_code
        self.status = status


class RetryableError(ConnectorError):
    """A passing failure (5xx, 429, timeout): the engine retries with backoff or after retry_after."""

    code = "retryable"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
        vendor_code: str | None = None,
        status: int | None = None,
        details: object = None,
    ) -> None:
        super().__init__(message, vendor_code=vendor_code, status=status, details=details)
        self.retry_after = retry_after
        # True when the request may have reached the vendor (read timeout, reset after sending).
        self.outcome_unknown = outcome_unknown


class PermanentError(ConnectorError):
    """A failure that repeating will not fix (4xx, validation): the step fails at once."""

    code = "permanent"


class AuthError(PermanentError):
    """The vendor refused the connection's credentials."""

    code = "auth"


class SignatureError(PermanentError):
    """An inbound webhook's signature is missing, malformed or wrong.

    `response` is what the vendor must get back instead of the hub's JSON 401 (Xero wants an
    empty 401); it is a hub.sdk.types.WebhookResponse."""

    code = "bad_signature"

    def __init__(
        self,
        message: str,
        *,
        response: WebhookResponse | None = None,
        vendor_code: str | None = None,
        status: int | None = None,
        details: object = None,
    ) -> None:
        super().__init__(message, vendor_code=vendor_code, status=status, details=details)
        self.response = response


class InvalidBodyError(PermanentError):
    """An inbound request's body cannot be read or stored (bad JSON, NaN, lone surrogates, deep
    nesting, bad form encoding): the sender gets a 400 naming the problem, never a 500 to retry."""

    code = "bad_request"


class VendorResponseError(PermanentError):
    """A vendor answered with a body the hub cannot read or store; repeating the call will not help."""

    code = "vendor_response"


class BlockedAddressError(PermanentError):
    """An outbound request aimed at an address the network guard forbids."""

    code = "blocked_address"


class RecipeError(HubError):
    """A recipe document is invalid; `path` names the JSON path of the bad field."""

    code = "invalid_recipe"

    def __init__(self, message: str, *, path: str = "$", details: object = None) -> None:
        super().__init__(message, details=details)
        self.path = path


class RecipeProblems(RecipeError):
    """Every problem found in a recipe document, at once, so an editor can show them all.

    `problems` is `[{"path", "message"}, ...]` in document order; `path`, `message` and `code` are the
    first problem's, so a caller that reads one error still reads a meaningful one."""

    def __init__(self, problems: list[RecipeError]) -> None:
        first, more = problems[0], len(problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        self.problems = [{"path": p.path, "message": _without_path(p.message, p.path)} for p in problems]
        self.errors = problems  # the exceptions themselves, for a caller that words them its own way
        super().__init__(first.message + suffix, path=first.path, details=self.problems)
        self.code = first.code


def _without_path(message: str, path: str) -> str:
    """'$.a.b: bad' -> 'bad' (the path travels next to the message)."""
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


class TemplateError(RecipeError):
    """A template failed to compile or render, or broke a sandbox limit."""

    code = "template_error"


class VaultError(HubError):
    """Secrets cannot be encrypted or decrypted with the configured keys."""

    code = "vault_error"
