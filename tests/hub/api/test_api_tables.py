"""Lookup tables over the API: definitions, JSON and CSV rows (Chinese, BOM), errors naming row and
column, roles and audit entries."""

from __future__ import annotations

from typing import Any

import pytest

from hub.runtime import Runtime
from hub.utilities import tables
from tests.hub.api.conftest import audit_log

H = dict[str, dict[str, str]]
TERRITORIES = "province,region,owner\r\n浙江,华东,wang.fang@example.com\r\n广东,华南,li.lei@example.com\r\n"


def make_table(client: Any, headers: dict[str, str], name: str = "territories", **extra: Any) -> Any:
    body = {"name": name, "columns": ["province", "region", "owner"], "key": "province", **extra}
    return client.post("/api/v1/tables", json=body, headers=headers)


def put_csv(client: Any, headers: dict[str, str], text: str | bytes, name: str = "territories") -> Any:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.put(
        f"/api/v1/tables/{name}/rows", data=data, headers={**headers, "Content-Type": "text/csv"}
    )


def test_create_list_get_and_delete(client: Any, runtime: Runtime, headers: H) -> None:
    editor, viewer = headers["editor"], headers["viewer"]
    made = make_table(client, editor)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["columns"] == ["province", "region", "owner"]
    assert make_table(client, editor).status_code == 409
    listed = client.get("/api/v1/tables", headers=viewer).get_json()["tables"]
    assert [(t["name"], t["key"], t["row_count"]) for t in listed] == [("territories", "province", 0)]
    assert client.get("/api/v1/tables/territories", headers=viewer).get_json()["key"] == "province"
    assert client.delete("/api/v1/tables/territories", headers=editor).status_code == 204
    assert client.get("/api/v1/tables/territories", headers=viewer).status_code == 404
    assert ("editor@example.com", "table.create") in audit_log(runtime)
    assert ("editor@example.com", "table.delete") in audit_log(runtime)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "bad name", "columns": ["a"], "key": "a"}, "$.name"),
        ({"name": "t" * 65, "columns": ["a"], "key": "a"}, "$.name"),
        ({"name": "t", "columns": [], "key": "a"}, "$.columns"),
        ({"name": "t", "columns": ["a", "a"], "key": "a"}, "$.columns[1]"),
        ({"name": "t", "columns": ["a", " b"], "key": "a"}, "$.columns[1]"),
        ({"name": "t", "columns": ["a"], "key": "b"}, "$.key"),
    ],
)
def test_bad_definitions_name_the_field(client: Any, headers: H, body: dict[str, Any], path: str) -> None:
    answer = client.post("/api/v1/tables", json=body, headers=headers["editor"])
    assert answer.status_code == 422
    assert answer.get_json()["error"]["details"]["path"] == path


def test_roles_viewer_reads_editor_writes(client: Any, headers: H) -> None:
    assert make_table(client, headers["viewer"]).status_code == 403
    assert make_table(client, headers["editor"]).status_code == 201
    assert put_csv(client, headers["viewer"], TERRITORIES).status_code == 403
    assert client.delete("/api/v1/tables/territories", headers=headers["viewer"]).status_code == 403
    assert client.get("/api/v1/tables/territories/rows", headers=headers["viewer"]).status_code == 200
    assert client.get("/api/v1/tables").status_code == 401


def test_csv_with_a_bom_and_chinese_text_round_trips(client: Any, runtime: Runtime, headers: H) -> None:
    editor = headers["editor"]
    make_table(client, editor)
    # columns in another order than the table's, a BOM as Excel writes it, a blank last line
    text = (
        "\ufeffowner,province,region\r\n"
        "wang.fang@example.com,浙江,华东\r\nli.lei@example.com,广东,华南\r\n\r\n"
    )
    answer = put_csv(client, editor, text)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["row_count"] == 2
    rows = client.get("/api/v1/tables/territories/rows", headers=editor).get_json()["rows"]
    assert rows == [
        {"province": "浙江", "region": "华东", "owner": "wang.fang@example.com"},
        {"province": "广东", "region": "华南", "owner": "li.lei@example.com"},
    ]
    as_csv = client.get("/api/v1/tables/territories/rows", headers={**editor, "Accept": "text/csv"})
    assert as_csv.mimetype == "text/csv"
    assert as_csv.get_data(as_text=True) == TERRITORIES
    with runtime.db.read() as session:
        assert tables.find(session, "territories", {"region": "华南"}) == rows[1]
    assert ("editor@example.com", "table.rows_replace") in audit_log(runtime)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("province,region\r\n浙江,华东\r\n", "CSV line 1: the header lacks column 'owner'"),
        ("province,region,owner,x\r\n", "CSV line 1, field 4: 'x' is not a column of this table"),
        (TERRITORIES + "江苏,华东\r\n", "CSV line 4: 2 fields, but the header names 3 columns"),
        (
            TERRITORIES + "浙江,华东,x@example.com\r\n",
            "CSV line 4, column 'province': duplicate key '浙江' (first in CSV line 2)",
        ),
        (
            TERRITORIES + ",华东,x@example.com\r\n",
            "CSV line 4, column 'province': the key column needs a value",
        ),
        ("", "CSV line 1: the header row naming the columns is missing"),
    ],
)
def test_bad_csv_names_the_line_and_column_and_changes_nothing(
    client: Any, headers: H, text: str, message: str
) -> None:
    editor = headers["editor"]
    make_table(client, editor)
    assert put_csv(client, editor, TERRITORIES).status_code == 200
    answer = put_csv(client, editor, text)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["message"] == message
    assert len(client.get("/api/v1/tables/territories/rows", headers=editor).get_json()["rows"]) == 2


def test_csv_that_is_not_utf8_is_refused_with_its_line(client: Any, headers: H) -> None:
    make_table(client, headers["editor"])
    answer = put_csv(client, headers["editor"], TERRITORIES.encode("utf-8") + "江苏,华东,x\r\n".encode("gbk"))
    assert answer.status_code == 422
    assert answer.get_json()["error"]["message"].startswith("CSV line 4: not UTF-8 text")


def test_json_rows_replace_atomically_and_errors_name_row_and_column(client: Any, headers: H) -> None:
    editor = headers["editor"]
    make_table(client, editor)
    rows = [{"province": "浙江", "region": "华东", "owner": "a@example.com"}, {"province": 31, "owner": None}]
    answer = client.put("/api/v1/tables/territories/rows", json=rows, headers=editor)
    assert answer.status_code == 200, answer.get_json()
    got = client.get("/api/v1/tables/territories/rows", headers=editor).get_json()["rows"]
    assert got[1] == {"province": 31, "region": None, "owner": None}
    bad = [{"province": "江苏", "owner": {"name": "x"}}]
    refused = client.put("/api/v1/tables/territories/rows", json={"rows": bad}, headers=editor)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["message"] == (
        "$.rows[0], column 'owner': a cell holds text, a number, true/false or null"
    )
    unknown = client.put("/api/v1/tables/territories/rows", json=[{"city": "杭州"}], headers=editor)
    assert unknown.get_json()["error"]["message"] == "$.rows[0]: 'city' is not a column of this table"
    assert client.put("/api/v1/tables/territories/rows", json={"x": 1}, headers=editor).status_code == 422
    assert client.put("/api/v1/tables/nope/rows", json=[], headers=editor).status_code == 404
    assert len(client.get("/api/v1/tables/territories/rows", headers=editor).get_json()["rows"]) == 2


def test_rows_can_be_read_a_page_at_a_time(client: Any, headers: H) -> None:
    editor = headers["editor"]
    make_table(client, editor)
    rows = [{"province": f"p{i}", "region": "r", "owner": "o"} for i in range(5)]
    client.put("/api/v1/tables/territories/rows", json=rows, headers=editor)
    page = client.get("/api/v1/tables/territories/rows?offset=1&limit=2", headers=editor).get_json()
    assert [r["province"] for r in page["rows"]] == ["p1", "p2"]
    assert client.get("/api/v1/tables/territories/rows?limit=0", headers=editor).status_code == 400
