"""The statistics page and the dashboard's failing recipes, through the test client, in both languages."""

from __future__ import annotations

import re

from flask import Flask

from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from tests.web.helpers import sign_in
from tests.web.stats_seed import RECIPE, seed_runs


def make(rt: Runtime) -> int:
    with rt.db.transaction() as session:
        recipe = save_recipe(session, rt, RECIPE)
        save_recipe(session, rt, RECIPE, recipe=recipe)  # version 2
        seed_runs(session, recipe.id)
        return recipe.id


def test_a_viewer_sees_charts_and_two_versions_side_by_side(web_runtime: Runtime, web_app: Flask) -> None:
    recipe_id = make(web_runtime)
    client = web_app.test_client()
    assert client.get(f"/recipes/{recipe_id}/stats").status_code == 302  # sign in first
    sign_in(client, "vi@example.com")
    page = client.get(f"/recipes/{recipe_id}/stats?days=30")
    assert page.status_code == 200
    html = page.text
    assert html.count("<svg") == 4  # runs per day, durations, step failures, waits
    assert "Version 1 and version 2 side by side" in html
    assert 'id="completion-rate">75.0%' in html  # 45 of 60: version 1 fails 10, version 2 fails 5
    assert re.search(r"<td>approved</td><td>\d+</td><td>\d+</td>", html)
    assert client.get("/recipes/999/stats").status_code == 404
    chinese = client.get(f"/recipes/{recipe_id}/stats", headers={"Accept-Language": "zh-CN"}).text
    assert "版本 1 与版本 2 对比" in chinese and "步骤失败率" in chinese


def test_the_dashboard_lists_the_recipes_failing_most(web_runtime: Runtime, web_app: Flask) -> None:
    recipe_id = make(web_runtime)
    client = web_app.test_client()
    sign_in(client, "vi@example.com")
    html = client.get("/").text
    section = html[html.index('id="top-failing"') :]
    assert "Approvals" in section[:2000] and f"/recipes/{recipe_id}/stats" in section[:2000]
