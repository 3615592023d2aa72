"""The UI people use, tested as a person would: headless Chromium on the running native deployment.

Playwright drives Debian's Chromium (``/usr/bin/chromium``; ``.ci/run`` installs it) — no browser
download. Each test leaves a screenshot under ``data/screenshots/`` (``$CRO_SCREENSHOT_DIR`` to change
it); the README shows one of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestration.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
# As root in a container, with no network: no sandbox, and none of Chromium's calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = Path(os.environ.get("CRO_SCREENSHOT_DIR", PROJECT_ROOT / "data" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found: apt-get install chromium chromium-driver"
        if os.environ.get("CRO_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def open_dagster(page: Any, url: str) -> None:
    """Open a Dagster UI page and dismiss the first-visit community dialog if it shows."""
    page.goto(url)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.get_by_role("button", name="Skip").click(timeout=8_000)
    except PlaywrightTimeout:  # the dialog shows once per browser profile; its absence is fine
        return


def test_asset_catalog_lists_every_group_and_our_assets(page: Any, native_deployment: Any, screenshots: Path) -> None:
    from playwright.sync_api import expect

    open_dagster(page, f"{native_deployment.webserver_url}/asset-groups")
    for group in ("ingestion", "staging", "intermediate", "marts", "reference", "forecasting", "agents", "docs"):
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    shoot(page, screenshots / "dagster-asset-groups.png")
    page.set_viewport_size({"width": 1440, "height": 4000})  # the catalog renders only the rows in view
    open_dagster(page, f"{native_deployment.webserver_url}/assets")
    # the catalog renders a row (with a selection checkbox) per asset key
    for key in (
        "agents/growth_brief",
        "forecasts/revenue",
        "hubspot/contacts",
        "hubspot/deals",
        "intermediate/int_customers",
        "marts/fct_cac",
    ):
        expect(page.get_by_test_id(f"checkbox-{key}")).to_be_attached()
    expect(page.get_by_text("hubspot / contacts").first).to_be_visible()
    page.set_viewport_size({"width": 1440, "height": 1000})
    shoot(page, screenshots / "dagster-asset-catalog.png")


def test_asset_page_shows_its_latest_materialization_metadata(
    page: Any, native_deployment: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    open_dagster(page, f"{native_deployment.webserver_url}/assets/hubspot/contacts")
    expect(page.get_by_text("Latest materialization")).to_be_visible()
    metadata = page.get_by_role("table").filter(has_text="rows_inserted")
    expect(metadata).to_be_visible()
    for key in ("rows_inserted", "rows_updated", "rows_rejected", "reject_reasons", "preview", "duration_s"):
        expect(metadata.get_by_text(key, exact=True).first).to_be_visible()
    shoot(page, screenshots / "dagster-asset-hubspot-contacts.png", full_page=True)


def test_automation_page_lists_our_schedules_and_sensors(page: Any, native_deployment: Any, screenshots: Path) -> None:
    from playwright.sync_api import expect

    from orchestration.definitions import defs

    open_dagster(page, f"{native_deployment.webserver_url}/automation")
    names = [s.name for s in defs.schedules or []] + [s.name for s in defs.sensors or []]
    assert names
    for name in names:
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    shoot(page, screenshots / "dagster-automation.png")


def test_dbt_docs_show_the_marts_with_their_column_descriptions(
    page: Any, native_deployment: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    model = "fct_dre_monthly"
    column, description = _plain_column_description(model)
    page.goto(f"{native_deployment.docs_url}/#!/model/model.cro.{model}")
    expect(page.get_by_text(model, exact=True).first).to_be_visible()
    expect(page.get_by_text(column, exact=True).first).to_be_visible()
    expect(page.get_by_text(description).first).to_be_visible()
    shoot(page, screenshots / "dbt-docs-fct_dre_monthly.png", full_page=True)


def _plain_column_description(model: str) -> tuple[str, str]:
    """A column of ``model`` whose description has no markdown (so the page shows it as one text)."""
    import json

    manifest = json.loads((PROJECT_ROOT / "dbt_project" / "target" / "manifest.json").read_text())
    columns = manifest["nodes"][f"model.cro.{model}"]["columns"]
    for name, column in columns.items():
        text = " ".join(column["description"].split())
        if text and not any(mark in text for mark in "`*_[]#"):
            return name, text
    raise AssertionError(f"{model} has no column with a plain description")


def shoot(page: Any, path: Path, *, full_page: bool = False) -> None:
    """Save a screenshot and check it is a real picture of a rendered page, not an empty frame."""
    page.screenshot(path=str(path), full_page=full_page)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000, f"{path} looks empty ({len(data)} bytes)"
