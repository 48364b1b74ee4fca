"""Named secrets over the API: write-only, admins write, viewers see names, audited without values,
sealed in the vault bound to their name, re-sealed by `hub vault rotate`."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from hub.db.models import AuditEntry, NamedSecret
from hub.runtime import Runtime
from hub.sdk.errors import VaultError
from hub.utilities import secrets
from hub.vault import Vault
from hub.vault_rotation import reseal_everything
from tests.hub.api.conftest import audit_log

H = dict[str, dict[str, str]]
VALUE = "yonyou-app-secret-9f3a"


def test_set_list_replace_delete(client: Any, runtime: Runtime, headers: H) -> None:
    admin, viewer = headers["admin"], headers["viewer"]
    made = client.post("/api/v1/secrets", json={"name": "YONYOU_SECRET", "value": VALUE}, headers=admin)
    assert made.status_code == 201, made.get_json()
    assert set(made.get_json()) == {"name", "created_at", "updated_at"}
    again = client.post("/api/v1/secrets", json={"name": "YONYOU_SECRET", "value": "x" * 8}, headers=admin)
    assert again.status_code == 409
    listed = client.get("/api/v1/secrets", headers=viewer)
    assert [s["name"] for s in listed.get_json()["secrets"]] == ["YONYOU_SECRET"]
    assert VALUE not in listed.get_data(as_text=True)
    replaced = client.put("/api/v1/secrets/YONYOU_SECRET", json={"value": "new-value-1234"}, headers=admin)
    assert replaced.status_code == 200
    with runtime.db.read() as session:
        stored = session.get(NamedSecret, "YONYOU_SECRET")
        assert secrets.open_value(runtime.vault, stored) == "new-value-1234"
    assert client.put("/api/v1/secrets/NOPE", json={"value": "abcd"}, headers=admin).status_code == 404
    assert client.delete("/api/v1/secrets/YONYOU_SECRET", headers=admin).status_code == 204
    assert client.delete("/api/v1/secrets/YONYOU_SECRET", headers=admin).status_code == 404
    actions = [a for _, a in audit_log(runtime) if a.startswith("secret.")]
    assert actions == ["secret.create", "secret.update", "secret.delete"]
    with runtime.db.read() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.target_type == "secret")).all()
        assert all(e.target_id == "YONYOU_SECRET" for e in entries)
        assert VALUE not in str([(e.details, e.target_id) for e in entries])


def test_only_admins_write_and_viewers_read_names(client: Any, headers: H) -> None:
    body = {"name": "API_KEY", "value": VALUE}
    for role in ("editor", "viewer"):
        assert client.post("/api/v1/secrets", json=body, headers=headers[role]).status_code == 403
        assert client.put("/api/v1/secrets/API_KEY", json=body, headers=headers[role]).status_code == 403
        assert client.delete("/api/v1/secrets/API_KEY", headers=headers[role]).status_code == 403
    assert client.get("/api/v1/secrets", headers=headers["viewer"]).status_code == 200
    assert client.get("/api/v1/secrets").status_code == 401


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "1abc", "value": "v"}, "$.name"),
        ({"name": "has-dash", "value": "v"}, "$.name"),
        ({"name": "K" * 65, "value": "long-enough"}, "$.name"),  # names are audit target ids (64)
        ({"name": "OK", "value": ""}, "$.value"),
        ({"name": "OK", "value": "abc"}, "$.value"),
        ({"name": "OK", "value": 5}, "$.value"),
    ],
)
def test_bad_names_and_values_are_named(client: Any, headers: H, body: dict[str, Any], path: str) -> None:
    answer = client.post("/api/v1/secrets", json=body, headers=headers["admin"])
    assert answer.status_code == 422
    assert answer.get_json()["error"]["details"]["path"] == path


def test_sealed_bound_to_the_name_and_rotated_so_the_old_key_can_go(
    client: Any, runtime: Runtime, headers: H
) -> None:
    client.post("/api/v1/secrets", json={"name": "A_SECRET", "value": VALUE}, headers=headers["admin"])
    old, new = runtime.settings.vault_keys or "", Fernet.generate_key().decode()
    with runtime.db.transaction() as session:
        row = session.get(NamedSecret, "A_SECRET")
        assert VALUE not in row.value and Vault.is_current(row.value)
        with pytest.raises(VaultError):  # a token moved under another name does not open there
            secrets.open_value(runtime.vault, NamedSecret(name="B_SECRET", value=row.value))
        counts = reseal_everything(session, Vault([new, old]), runtime.registry)
        assert counts["named_secrets"] == 1
    with runtime.db.read() as session:
        row = session.get(NamedSecret, "A_SECRET")
        assert secrets.open_value(Vault([new]), row) == VALUE
        with pytest.raises(VaultError):
            secrets.open_value(Vault([old]), row)
