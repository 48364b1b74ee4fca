"""The lookup table and secret pages: roles, CSRF, CSV paste and upload, Chinese text, and secret
values that never come back into a page."""

from __future__ import annotations

import io

from flask import Flask

from hub.runtime import Runtime
from hub.services import secrets as secret_service
from hub.utilities import tables
from tests.web.helpers import csrf_token, sign_in

CSV = "province,region,owner\r\n浙江,华东,wang.fang@example.com\r\n广东,华南,li.lei@example.com\r\n"


def test_an_editor_creates_a_table_from_a_pasted_csv_and_replaces_rows_by_upload(
    web_app: Flask, web_runtime: Runtime
) -> None:
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    token = csrf_token(client.get("/tables").text)
    made = client.post("/tables", data={"name": "territories", "csv": CSV, "csrf_token": token})
    assert made.status_code == 302 and made.headers["Location"].endswith("/tables/territories")
    page = client.get("/tables/territories").text
    assert "华东" in page and "wang.fang@example.com" in page and "Save rows" in page
    with web_runtime.db.read() as session:
        info = tables.get(session, "territories")
        assert (info.columns, info.key, info.row_count) == (["province", "region", "owner"], "province", 2)

    upload = ("\ufeff" + CSV + "四川,西南,zhao.min@example.com\r\n").encode("utf-8")
    data = {"csrf_token": token, "file": (io.BytesIO(upload), "territories.csv"), "csv": ""}
    saved = client.post("/tables/territories/rows", data=data, content_type="multipart/form-data")
    assert saved.status_code == 302
    assert "3 rows saved." in client.get("/tables/territories").text

    bad = client.post("/tables/territories/rows", data={"csv": CSV + "江苏,华东\r\n", "csrf_token": token})
    assert bad.status_code == 422
    assert "CSV line 4: 2 fields, but the header names 3 columns" in bad.text
    assert "江苏,华东" in bad.text  # what was typed stays in the box to fix

    download = client.get("/tables/territories/csv")
    assert download.mimetype == "text/csv" and "四川,西南" in download.get_data(as_text=True)
    deleted = client.post("/tables/territories/delete", data={"csrf_token": token})
    assert deleted.status_code == 302 and client.get("/tables/territories").status_code == 404


def test_table_pages_in_chinese_and_viewer_limits(web_app: Flask, web_runtime: Runtime) -> None:
    from hub.services import tables as service

    service.create_table(web_runtime, actor="t", name="codes", columns=["code"], key="code")
    client = web_app.test_client()
    sign_in(client, "vi@example.com")
    listing = client.get("/tables", headers={"Accept-Language": "zh-CN"}).text
    assert "查找表" in listing and "codes" in listing and "新建查找表" not in listing
    assert "Save rows" not in client.get("/tables/codes").text
    token = csrf_token(listing)
    assert client.post("/tables", data={"name": "x", "columns": "a", "csrf_token": token}).status_code == 403
    assert client.post("/tables/codes/delete", data={"csrf_token": token}).status_code == 403
    rows = {"csv": "code\r\n1", "csrf_token": token}
    assert client.post("/tables/codes/rows", data=rows).status_code == 403


def test_forms_need_a_csrf_token(web_app: Flask) -> None:
    client = web_app.test_client()
    sign_in(client, "admin@example.com")
    assert client.post("/tables", data={"name": "t", "columns": "a"}).status_code == 400
    assert client.post("/secrets", data={"name": "A_KEY", "value": "v" * 8}).status_code == 400


def test_an_admin_sets_a_secret_whose_value_never_comes_back(web_app: Flask, web_runtime: Runtime) -> None:
    value = "erp-secret-value-31337"
    client = web_app.test_client()
    sign_in(client, "admin@example.com")
    token = csrf_token(client.get("/secrets").text)
    saved = client.post("/secrets", data={"name": "ERP_SECRET", "value": value, "csrf_token": token})
    assert saved.status_code == 302
    page = client.get("/secrets").text
    assert "ERP_SECRET" in page and value not in page
    refused = client.post("/secrets", data={"name": "bad-name", "value": value, "csrf_token": token})
    assert refused.status_code == 422 and value not in refused.text and "secret name" in refused.text
    assert client.post("/secrets", data={"name": "ERP_SECRET", "value": "newer-value", "csrf_token": token})
    assert [s["name"] for s in secret_service.list_secrets(web_runtime)] == ["ERP_SECRET"]
    assert client.post("/secrets/ERP_SECRET/delete", data={"csrf_token": token}).status_code == 302
    assert secret_service.list_secrets(web_runtime) == []


def test_only_admins_change_secrets_and_viewers_see_names(web_app: Flask, web_runtime: Runtime) -> None:
    secret_service.set_secret(web_runtime, actor="t", name="API_KEY", value="v" * 12)
    for email in ("ed@example.com", "vi@example.com"):
        client = web_app.test_client()
        sign_in(client, email)
        page = client.get("/secrets").text
        assert "API_KEY" in page and "Save secret" not in page and "Delete" not in page
        token = csrf_token(page)
        data = {"name": "API_KEY", "value": "x" * 8, "csrf_token": token}
        assert client.post("/secrets", data=data).status_code == 403
        assert client.post("/secrets/API_KEY/delete", data={"csrf_token": token}).status_code == 403


def test_the_tables_page_shows_and_creates_in_the_current_project(
    web_app: Flask, web_runtime: Runtime
) -> None:
    from hub.services import projects as project_service
    from hub.services import tables as service

    finance = project_service.create_project(web_runtime, "finance", actor="tests")["id"]
    sales = project_service.create_project(web_runtime, "sales", actor="tests")["id"]
    project_service.set_member(web_runtime, sales, "ed@example.com", "editor", actor="tests")
    service.create_table(web_runtime, actor="t", name="fx-rates", columns=["c"], key="c", project_id=finance)
    service.create_table(web_runtime, actor="t", name="codes", columns=["code"], key="code")
    client = web_app.test_client()
    sign_in(client, "ed@example.com")
    listing = client.get("/tables").text
    assert "codes" in listing and "fx-rates" not in listing
    switched = client.post("/projects/switch", data={"csrf_token": csrf_token(listing), "project": sales})
    assert switched.status_code == 302
    listing = client.get("/tables").text
    assert "codes" not in listing and "fx-rates" not in listing
    for url in ("/tables/fx-rates", "/tables/fx-rates/csv"):
        assert client.get(url).status_code == 404
    token = csrf_token(listing)
    assert client.post("/tables/fx-rates/delete", data={"csrf_token": token}).status_code == 404
    made = client.post("/tables", data={"name": "quotas", "columns": "rep,quota", "csrf_token": token})
    assert made.status_code == 302
    with web_runtime.db.read() as session:
        assert tables.get(session, "quotas").project_id == sales
    assert "quotas" in client.get("/tables").text
