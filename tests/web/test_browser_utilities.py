"""Headless Chromium against `hub serve`: an admin loads a lookup table from a CSV file and sets a
secret through the pages, on a laptop, a phone and in Chinese, with screenshots."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.harness import HubProcess
from tests.web.test_browser import LAPTOP, PHONE, assert_labelled, browser, hub, new_page, shot, sign_in

pytestmark = pytest.mark.e2e
__all__ = ["browser", "hub"]  # the module-scoped fixtures, shared with test_browser.py

CSV = "\ufeffprovince,region,owner\r\n浙江,华东,wang.fang@example.com\r\n广东,华南,li.lei@example.com\r\n"


def test_an_admin_loads_a_table_from_a_file_and_sets_a_secret(
    hub: HubProcess, browser: Browser, tmp_path: Path
) -> None:
    page = new_page(browser)
    sign_in(page, hub, "ops@example.com")
    page.get_by_role("link", name="Tables").click()
    expect(page.get_by_role("heading", name="Lookup tables")).to_be_visible()
    assert_labelled(page)
    csv_file = tmp_path / "territories.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    page.get_by_label("Name", exact=True).fill("territories")
    page.get_by_label("CSV file (UTF-8, with a header row)").set_input_files(str(csv_file))
    page.get_by_role("button", name="Create table").click()
    expect(page.get_by_text("Table territories created.")).to_be_visible()
    expect(page.get_by_role("cell", name="华南")).to_be_visible()
    assert_labelled(page)
    shot(page, "20-lookup-table")

    page.get_by_label("Or edit the rows as CSV").fill(
        CSV.lstrip("\ufeff") + "四川,西南,zhao.min@example.com\r\n"
    )
    page.get_by_role("button", name="Save rows").click()
    expect(page.get_by_text("3 rows saved.")).to_be_visible()
    expect(page.get_by_role("cell", name="西南")).to_be_visible()

    page.get_by_role("link", name="Secrets").click()
    page.get_by_label("Name", exact=True).fill("ERP_APP_SECRET")
    page.get_by_label("Value").fill("erp-secret-in-the-browser")
    page.get_by_role("button", name="Save secret").click()
    expect(page.get_by_text("Secret ERP_APP_SECRET saved.")).to_be_visible()
    assert "erp-secret-in-the-browser" not in page.content()
    assert_labelled(page)
    shot(page, "21-secrets")

    phone = new_page(browser, PHONE)
    sign_in(phone, hub, "ops@example.com")
    for path in ("/tables", "/tables/territories", "/secrets"):
        phone.goto(f"{hub.url}{path}")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} scrolls sideways on a phone ({width}px)"
    shot(phone, "22-phone-secrets")

    chinese = browser.new_context(viewport=LAPTOP, locale="zh-CN").new_page()  # type: ignore[arg-type]
    chinese.goto(f"{hub.url}/login")
    chinese.get_by_label("邮箱").fill("look@example.com")
    chinese.get_by_label("密码").fill("correct horse battery")
    chinese.get_by_role("button", name="登录").click()
    chinese.goto(f"{hub.url}/tables/territories")
    expect(chinese.get_by_text("共 3 行；键列 province。")).to_be_visible()
    assert chinese.get_by_role("button", name="保存数据行").count() == 0  # a viewer cannot edit
    shot(chinese, "23-table-zh-viewer")
