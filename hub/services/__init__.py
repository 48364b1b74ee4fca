"""What a person can do to the hub, each operation written once for the API, the web UI and the CLI.

A service function is one operation as a user means it ("save this recipe", "rename this
connection"): it validates, stores, writes the audit entry and does the follow-up work (vendor
webhook registration, dispatching runs) in one place. It takes the Runtime and the acting user
explicitly, never imports Flask, and raises the hub's HubError subclasses (NotFound, Conflict,
RecipeError, SecretsRequired, ...), which the API turns into statuses and the UI into messages.
"""

from hub.sdk.errors import RecipeError


class InvalidInput(RecipeError):
    """A field of what a person sent is invalid; `path` names it (the API answers 422 `invalid`)."""

    code = "invalid"
