"""The dashboard in a real browser (Debian's Chromium, headless): list, filter and page instances, open one, see its
timeline and sub-orchestrations, raise an event, terminate, purge; and a screenshot of a timeline for people.

The hub has running, completed and failed instances, served by a worker and a ``ManagementServer`` on this event
loop; the browser runs in a thread. The server wants a token: the page gets it once, in its URL, and must send it
with every request it makes. A missing Chromium fails the test (``make setup`` installs it).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from durable_storage.web import ManagementServer
from tests.e2e.support import REPO_ROOT
from tests.web import dashboard_page
from tests.web.dashboard_page import Dashboard, chromium
from tests.web.support import Served

ARTIFACTS = REPO_ROOT / "tests" / ".artifacts"
TOKEN = "dashboard-test-token"
XSS_ID = "xss-<b>bold</b>"
XSS_INPUT = "<img src=x onerror=\"document.title='pwned'\">"


async def start_instances(served: Served) -> dict[str, str]:
    """Start one instance of each kind and wait for each to settle; returns instance ID -> status."""
    starts = [
        ("collect", "run-1", 1, "Running"),
        ("collect", "run-2", 1, "Running"),
        ("echo_orchestrator", "done-1", {"n": 1}, "Completed"),
        ("echo_orchestrator", "done-2", {"n": 2}, "Completed"),
        ("unhandled", "fail-1", None, "Failed"),
        ("order", "order-1", 3, "Completed"),
        ("echo_orchestrator", XSS_ID, XSS_INPUT, "Completed"),
    ]
    for name, instance_id, value, _ in starts:
        await served.client.start_new(name, instance_id, value)
    for _, instance_id, _, status in starts:
        await served.reaches(instance_id, status)
    statuses = {instance_id: status for _, instance_id, _, status in starts}
    for child in await served.client.get_status_all():
        statuses.setdefault(child.instance_id or "", "Completed")  # order-1's sub-orchestration
    return statuses


async def test_the_dashboard_lists_filters_shows_and_manages_instances(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never go online
    created_from = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    statuses = await start_instances(served)
    assert len(statuses) == 8
    hub_name = served.client.task_hub.name

    def browse(url: str) -> None:
        driver = chromium(tmp_path / "chromium-profile")
        try:
            page = Dashboard(driver, url, token=TOKEN)
            check_list_filters_and_paging(page, hub_name, statuses, created_from)
            check_detail_and_timeline(page)
            check_raise_terminate_and_purge(page)
        finally:
            driver.quit()

    async with ManagementServer(served.client, port=0, token=TOKEN) as server:
        await asyncio.to_thread(browse, server.url)
    assert (await served.client.get_status("run-1")).output == "stopped from the dashboard"
    assert not await served.client.get_status("done-1")


def check_list_filters_and_paging(page: Dashboard, hub_name: str, statuses: dict[str, str], since: str) -> None:
    page.open()
    assert page.text("#hub-name") == hub_name
    assert sorted(page.rows()) == sorted(statuses)
    # Everything the server sends is text: the ID and input with markup stay characters, no element is made.
    assert [a.text for a in page.find_all("#instances-table a.instance-link") if a.text.startswith("xss-")] == [XSS_ID]
    assert page.find_all("#instances-table tbody b") == []

    assert page.filter(statuses=["Failed"]) == ["fail-1"]
    assert sorted(page.filter(statuses=["Running", "Failed"])) == ["fail-1", "run-1", "run-2"]
    assert sorted(page.filter(name="COLLECT")) == ["run-1", "run-2"]
    assert sorted(page.filter(prefix="done-")) == ["done-1", "done-2"]
    assert page.filter(created_from="2099-01-01T00:00:00Z") == []
    assert page.text("#instances-table tbody") == "No instances match."
    assert sorted(page.filter(created_from=since, created_to="2099-01-01T00:00:00Z")) == sorted(statuses)
    page.filter(created_from="not a time")
    assert "createdTimeFrom" in page.text("#list-message")

    seen = page.filter(per_page="5")
    assert len(seen) == 5
    while (more := page.next_page()) is not None:
        seen += more
    assert sorted(seen) == sorted(statuses)  # every instance once, over the pages
    assert page.text("#page-info").startswith("Page ")
    page.filter()


def check_detail_and_timeline(page: Dashboard) -> None:
    page.open_instance("order-1")
    page.wait_for_status("Completed")
    assert '"shipment": 4' in page.text("#detail-output")
    assert page.text("#detail-custom-status") == "shipped"
    steps = page.timeline()
    assert steps[0][:2] == ("started", "order")
    assert [name for kind, name, _ in steps if kind == "activity"] == ["square", *["slow_double"] * 3]
    assert ("timer", "timer", "fired") in steps
    assert [(kind, name, status) for kind, name, status in steps if kind == "suborchestration"] == [
        ("suborchestration", "child", "completed")
    ]
    assert steps[-1][0] == "completed"
    durations = [d.text for d in page.find_all("#timeline li[data-kind='activity'] .duration")]
    assert all(text.endswith(("ms", " s")) for text in durations), durations
    tree = page.find_all("#children-tree li[data-instance-id]")
    assert tree[0].get_attribute("data-instance-id") == "order-1"
    assert len(tree) == 2  # the order and its sub-orchestration

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    section = page.find("#timeline-section")
    page.driver.execute_script("arguments[0].scrollIntoView()", section)
    section.screenshot(str(ARTIFACTS / "timeline.png"))
    assert (ARTIFACTS / "timeline.png").stat().st_size > 1000

    page.find("#back-link").click()
    page.rows()
    page.open_instance(XSS_ID)
    assert page.text("#detail-input") == XSS_INPUT
    assert page.driver.title == "durable-storage dashboard"  # the markup in the input never ran


def check_raise_terminate_and_purge(page: Dashboard) -> None:
    page.find("#back-link").click()
    page.rows()
    page.open_instance("run-1")
    assert page.status() == "Running"
    page.find("#action-reason").send_keys("stopped from the dashboard")
    page.find("#btn-terminate").click()
    page.wait_for_status("Terminated")  # the page polls until the worker has ended it
    assert page.text("#detail-output") == "stopped from the dashboard"
    assert not page.find("#btn-terminate").is_enabled()

    page.find("#back-link").click()
    page.rows()
    page.open_instance("run-2")
    page.find("#event-name").send_keys("Item")
    data = page.find("#event-data")
    data.clear()
    data.send_keys('{"from": "the dashboard"}')
    page.find("#btn-raise").click()
    page.wait_for_status("Completed")
    assert '"from": "the dashboard"' in page.text("#detail-output")

    page.find("#back-link").click()
    page.rows()
    page.open_instance("done-1")
    page.find("#btn-purge").click()
    page.find("#btn-purge-confirm").click()
    page.until(lambda d: page.text("#list-message") == "Purged done-1.", "the purge to be reported")
    assert "done-1" not in page.rows()


def test_a_missing_chromium_fails_the_test_with_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(dashboard_page, "CHROMIUM", tmp_path / "no-chromium")

    with pytest.raises(pytest.fail.Exception, match=r"no-chromium not found: .*make setup"):
        chromium(tmp_path / "profile")
