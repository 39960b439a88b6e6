"""The dashboard as an operator reads it, from screenshots at 1400x900 (saved under tests/.artifacts/, git-ignored):
the hub's summary and chart, the list newest first with outputs and errors, a loading page that says so, what a
running instance waits for, and a failed instance's error once, with its traceback trimmed to the user's frames.

The hub (this module's own) holds: an order that fails (its activity declines, with a message of three lines), one
whose decline is caught (the multi-line failure stays in its timeline), a fulfilment that waits at once for an
approval event or an hour's timer, a held activity and a sub-orchestration (which waits for an event), and
completed instances started in an order that their IDs do not sort in.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from durable_storage.web import ManagementServer
from tests.e2e.support import REPO_ROOT
from tests.web.apps import RELEASED
from tests.web.dashboard_page import Dashboard, chromium
from tests.web.support import Served

ARTIFACTS = REPO_ROOT / "tests" / ".artifacts"
ORDER = {"id": "A-1", "amount": 12}
CREATED = ["zeta", "alpha", "mid"]  # creation order, which is not ID order
STALL_FETCH = "window.fetch = () => new Promise(() => {});"  # every request of the page stays unanswered


async def start_instances(served: Served) -> None:
    client = served.client
    for instance_id in CREATED:  # one after the other, so that their created times are apart and ordered
        await client.start_new("echo_orchestrator", instance_id, {"id": instance_id})
        await served.reaches(instance_id, "Completed")
    await client.start_new("checkout", "declined", ORDER)
    await client.start_new("checkout_later", "declined-then-cod", ORDER)
    await client.start_new("fulfil", "fulfil-1", None)
    for instance_id, status in [("declined", "Failed"), ("declined-then-cod", "Completed")]:
        await served.reaches(instance_id, status)
    await served.reaches("fulfil-1-items", "Running")


async def test_the_dashboard_shows_health_order_waits_and_errors(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never go online
    await start_instances(served)

    def browse(url: str) -> None:
        driver = chromium(tmp_path / "chromium-profile")
        # The viewport itself, not the window around it: what an operator's 1400x900 screen shows.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        try:
            page = Dashboard(driver, url)
            check_loading(page)
            check_summary_and_list(page)
            check_running(page)
            check_failed(page)
        finally:
            driver.quit()

    try:
        async with ManagementServer(served.client, port=0) as server:
            await asyncio.to_thread(browse, server.url)
    finally:
        RELEASED.add("fulfil-1")
        await served.client.terminate("fulfil-1", "the test is over")


def check_loading(page: Dashboard) -> None:
    # The page as it first paints, before any answer: it says it is loading, it does not look empty.
    stall = page.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": STALL_FETCH})
    page.driver.get(page.url + "/")
    page.until(lambda d: page.find("#list-view").is_displayed(), "the list view")
    assert page.text("#instances-table tbody") == "Loading instances…"
    assert page.find("#list-loading").is_displayed()
    assert page.text("#summary-scope") == "Loading the summary…"
    page.screenshot(ARTIFACTS / "dashboard-loading.png")
    page.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": stall["identifier"]})


def check_summary_and_list(page: Dashboard) -> None:
    page.open()
    counts = page.summary_counts()
    assert {name: counts[name] for name in ("Running", "Completed", "Failed", "Pending")} == {
        "Running": "2",  # fulfil-1 and its sub-orchestration
        "Completed": "4",
        "Failed": "1",
        "Pending": "0",
    }
    assert counts["instances"] == "7"
    assert len(page.find_all("#summary-chart rect.created")) >= 1
    assert len(page.find_all("#summary-chart rect.completed")) >= 1
    assert len(page.find_all("#summary-chart rect.failed")) == 1
    assert "last hour" in page.text("#summary-scope")

    # Newest first, whatever the IDs' order (the table's own order is by ID).
    assert page.rows() == ["fulfil-1-items", "fulfil-1", "declined-then-cod", "declined", *CREATED[::-1]]
    outputs = {
        row.get_attribute("data-instance-id"): row.find_element("css selector", "td.output").get_attribute("title")
        for row in page.find_all("#instances-table tbody tr[data-instance-id]")
    }
    assert outputs["zeta"] == '{"id":"zeta"}'
    assert outputs["declined"] == "TaskFailedError: Activity function 'charge' failed: card declined for order A-1"
    assert page.find_all("#instances-table tr[data-instance-id='declined'] td.output.error")
    assert page.cut_off() == []
    page.screenshot(ARTIFACTS / "dashboard-list.png")

    page.find("#summary-counts .count[data-status='Failed']").click()
    page.until(lambda d: page.rows() == ["declined"], "the list of the failed instances")
    page.filter()


def check_running(page: Dashboard) -> None:
    page.open_instance("fulfil-1")
    waiting = page.waiting()
    kinds = [(kind, name) for kind, name, _ in waiting]
    assert kinds[:3] == [("timer", "timer"), ("activity", "pack"), ("suborchestration", "collect")], waiting
    timer, _, child = (text for _, _, text in waiting[:3])
    assert " until " in timer and "UTC (in 59 min" in timer
    assert "fulfil-1-items" in child
    assert waiting[-1][:2] == ("customStatus", "") and "waiting for the Approval event" in waiting[-1][2]
    assert next(text for kind, _, text in waiting if kind == "event").startswith("External events: possibly")
    assert page.cut_off() == []
    page.screenshot(ARTIFACTS / "dashboard-running.png")

    page.driver.find_element("link text", "fulfil-1-items").click()
    page.until(lambda d: page.text("#detail-id") == "fulfil-1-items", "the sub-orchestration's page")
    waiting = page.until(lambda d: page.waiting() if page.text("#detail-id") == "fulfil-1-items" else None, "wait")
    assert [kind for kind, _, _ in waiting] == ["event"]
    assert "most likely one" in waiting[0][2] and "Received so far: none" in waiting[0][2]
    page.find("#back-link").click()
    page.rows()


def check_failed(page: Dashboard) -> None:
    page.open_instance("declined")
    page.wait_for_status("Failed")
    page.timeline()
    message = page.text("#error-message").split("\n")
    assert message == [
        "TaskFailedError: Activity function 'charge' failed: card declined for order A-1",
        "  amount: 12 EUR",
        "  reason: insufficient funds",
    ]
    frames = page.text("#error-frames")
    assert ", in checkout" in frames and ", in charge" in frames
    assert "durable_storage" not in frames and "concurrent" not in frames
    body = page.text("#detail-view")
    assert body.count("card declined for order A-1") == 2, body  # the Error box, and its step's one line
    assert body.count("insufficient funds") == 1
    assert not page.find("#output-section").is_displayed()
    assert not page.find("#error-details").is_displayed()
    assert page.cut_off() == []
    page.screenshot(ARTIFACTS / "dashboard-failed.png")
    page.find("#error-full summary").click()
    assert "durable_storage" in page.text("#error-details")
    page.driver.execute_script("arguments[0].scrollIntoView()", page.find("#error-full"))
    page.screenshot(ARTIFACTS / "dashboard-failed-full-traceback.png")

    page.find("#back-link").click()
    page.rows()
    page.open_instance("declined-then-cod")
    page.wait_for_status("Completed")
    page.timeline()
    charge = page.find("#timeline li[data-name='charge'] .outcome").text.split("\n")
    assert charge == ["ValueError: card declined for order A-1", "  amount: 12 EUR", "  reason: insufficient funds"]
    section = page.find("#timeline-section")
    page.driver.execute_script("arguments[0].scrollIntoView()", section)
    page.screenshot(ARTIFACTS / "dashboard-timeline-multiline.png")
