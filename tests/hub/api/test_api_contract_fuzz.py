"""A bounded schemathesis run over the whole API, in-process (WSGI: no socket, no network).

Every operation is called with requests generated from the OpenAPI document, valid and invalid: the
hub must never answer 500, only the status codes the document lists, bodies matching the documented
schemas, and reject what the document says is invalid. This is what keeps the document true.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from hub.app import create_app
from hub.runtime import Runtime
from hub.users import create_token, create_user

# Schema-valid bodies these operations still refuse with 422, by checks no schema can say: a recipe
# names triggers, actions and connections that must exist; a connection's new config is checked
# against its connector's schema, which the document cannot know for an id. A lookup table's key must be
# one of its columns, and its rows must name only its columns. A template's parameter values are
# checked against the template's own parameters.
SEMANTIC_422 = {
    "POST /templates/{template_name}/install",
    "POST /recipes",
    "PUT /recipes/{recipe_id}",
    "PUT /connections/{connection_id}",
    "POST /tables",
    "PUT /tables/{table_name}/rows",
}


def admin_header(runtime: Runtime) -> dict[str, str]:
    with runtime.db.transaction() as session:
        user = create_user(session, "fuzz@example.com", "admin", password="a long passphrase")
        return {"Authorization": f"Bearer {create_token(session, user, 'fuzz')[1]}"}


def fuzz(operation: Any, header: dict[str, str]) -> None:
    excluded = [positive_data_acceptance] if operation.label in SEMANTIC_422 else []

    # Derandomized: the same cases on every run, so CI never turns red on a draw it cannot repeat.
    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    @given(case=operation.as_strategy())
    def call(case: Any) -> None:
        case.call_and_validate(headers=header, excluded_checks=excluded)

    call()


def test_the_api_keeps_its_openapi_document(runtime: Runtime) -> None:
    header = admin_header(runtime)
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", create_app(runtime))
    # The hub refuses NUL and unpaired surrogates anywhere in a body (its JSON policy, stated in the
    # document's description): generate only text it could store.
    api.config.generation.update(allow_x00=False, codec="utf-8")
    # Revoking tokens goes last: it may revoke the very token the run authenticates with.
    operations = sorted(
        (result.ok() for result in api.get_all_operations()),
        key=lambda operation: operation.label == "DELETE /tokens/{token_id}",
    )
    assert len(operations) > 30
    failed: dict[str, str] = {}
    for operation in operations:
        try:
            fuzz(operation, header)
        except BaseException as exc:  # schemathesis reports a group of failures per operation
            if isinstance(exc, KeyboardInterrupt):
                raise
            failed[operation.label] = str(exc)[:2000]
    assert not failed, "\n\n".join(f"{label}:\n{text}" for label, text in failed.items())
