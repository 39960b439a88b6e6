"""The dashboard as a test sees it: Debian's Chromium through chromedriver, and a page object over its elements.

Selenium is synchronous; the dashboard test runs it in a thread so that the server and the worker, on the test's
event loop, keep answering. Every wait is a WebDriverWait on a condition of the page: the list and the timeline
say ``aria-busy="false"`` once loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1800",
]
T = TypeVar("T")


def chromium(profile: Path) -> WebDriver:
    """A headless Chromium with a fresh profile; fails (never skips) the test when Debian's Chromium is missing."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: the dashboard test drives Debian's Chromium. Install it with "
            "`make setup` (apt-get install chromium chromium-driver)",
            pytrace=False,
        )
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in [*_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    # An explicit driver and browser: Selenium Manager has nothing to look up or download.
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


class Dashboard:
    """The dashboard page in ``driver``, at ``url``, opened with ``?token=`` when the server wants one."""

    def __init__(self, driver: WebDriver, url: str, *, token: str | None = None) -> None:
        self.driver = driver
        self.url = url
        self.token = token

    def until(self, condition: Callable[[WebDriver], T | bool | None], what: str, timeout: float = 20) -> T:
        def checked(driver: WebDriver) -> Any:
            try:
                return condition(driver)
            except StaleElementReferenceException:  # the page re-rendered while we read it
                return False

        result: T = WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(checked, message=what)
        return result

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return self.find(css).text

    # --- the list -----------------------------------------------------------------------------------------------

    def open(self) -> None:
        self.driver.get(self.url + "/" + (f"?token={self.token}" if self.token else ""))
        self.until(lambda d: self.text("#hub-name") not in ("", "…"), "the task hub name")

    def rows(self) -> list[str]:
        """The instance IDs of the list, once it has loaded."""

        def loaded(driver: WebDriver) -> tuple[str, ...] | None:
            if self.find("#instances-table").get_attribute("aria-busy") != "false":
                return None
            rows = self.find_all("#instances-table tbody tr[data-instance-id]")
            return (*(row.get_attribute("data-instance-id") or "" for row in rows),) or ("<empty>",)

        found = self.until(loaded, "the instance list to load")
        return [] if found == ("<empty>",) else list(found)

    def filter(
        self,
        *,
        statuses: Iterable[str] = (),
        name: str = "",
        prefix: str = "",
        created_from: str = "",
        created_to: str = "",
        per_page: str = "25",
    ) -> list[str]:
        """Set every filter, apply, and return the first page's instance IDs."""
        for box in self.find_all('#filters input[name="status"]'):
            if box.is_selected() != (box.get_attribute("value") in set(statuses)):
                box.click()
        for css, value in [
            ("#filter-name", name),
            ("#filter-prefix", prefix),
            ("#filter-from", created_from),
            ("#filter-to", created_to),
        ]:
            field = self.find(css)
            field.clear()
            field.send_keys(value)
        Select(self.find("#filter-top")).select_by_value(per_page)
        return self._reload(lambda: self.find("#apply-filters").click())

    def next_page(self) -> list[str] | None:
        """The next page's IDs, or None when there is no next page."""
        button = self.find("#next-page")
        if not button.is_enabled():
            return None
        return self._reload(button.click)

    def _loads(self) -> int:
        return int(self.find("#instances-table").get_attribute("data-loads") or 0)

    def _reload(self, action: Callable[[], object]) -> list[str]:
        # The list counts its loads: wait for the one this action starts, not the rows already shown.
        before = self._loads()
        action()
        self.until(lambda d: self._loads() > before, "the list to reload")
        return self.rows()

    # --- one instance -------------------------------------------------------------------------------------------

    def open_instance(self, instance_id: str) -> None:
        """Click the instance's link in the list and wait for its detail."""

        def clicked(driver: WebDriver) -> bool:
            # A list that re-renders under the click (a late answer) leaves a stale link: find it again.
            link = next(a for a in self.find_all("#instances-table a.instance-link") if a.text == instance_id)
            link.click()
            return True

        self.until(clicked, f"the link to {instance_id}")
        self.until(lambda d: self.text("#detail-id") == instance_id, f"the detail of {instance_id}")
        self.until(lambda d: self.status() not in ("", "not found"), f"the status of {instance_id}")

    def status(self) -> str:
        return self.text("#detail-status")

    def wait_for_status(self, status: str) -> None:
        self.until(lambda d: self.status() == status, f"the status to become {status}")

    def timeline(self) -> list[tuple[str, str, str]]:
        """``(kind, name, status)`` of each timeline item, once the timeline has loaded."""

        def loaded(driver: WebDriver) -> list[tuple[str, str, str]] | None:
            if self.find("#timeline").get_attribute("aria-busy") != "false":
                return None
            items = self.find_all("#timeline li[data-kind]")
            return [
                (
                    item.get_attribute("data-kind") or "",
                    item.get_attribute("data-name") or "",
                    item.find_element(By.CSS_SELECTOR, ".outcome").text,
                )
                for item in items
            ] or None

        return self.until(loaded, "the timeline to load")

    # --- what the views show ------------------------------------------------------------------------------------

    def summary_counts(self) -> dict[str, str]:
        """The summary's count per status (and ``instances``, their total), once it has loaded."""

        def loaded(driver: WebDriver) -> dict[str, str] | None:
            if self.find("#summary").get_attribute("aria-busy") != "false":
                return None
            cards = self.find_all("#summary-counts .count")
            return {
                card.find_element(By.CSS_SELECTOR, ".label").text: card.find_element(By.CSS_SELECTOR, ".n").text
                for card in cards
            } or None

        return self.until(loaded, "the summary to load")

    def waiting(self) -> list[tuple[str, str, str]]:
        """``(kind, name, text)`` of each line of the Waiting for box, once it shows."""

        def shown(driver: WebDriver) -> list[tuple[str, str, str]] | None:
            if not self.find("#waiting-section").is_displayed():
                return None
            items = self.find_all("#waiting-list li")
            return [(i.get_attribute("data-kind") or "", i.get_attribute("data-name") or "", i.text) for i in items]

        return self.until(shown, "the Waiting for box")

    def cut_off(self) -> list[str]:
        """What does not fit at this window size: the page's width, headers, labels, placeholders and counts."""
        found: list[str] = self.driver.execute_script(_CUT_OFF_SCRIPT)
        return found

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        assert path.stat().st_size > 1000, path
        return path


# An element is cut off when its content is wider than its box; a placeholder when its text, in the input's font,
# is wider than the input's content box. (Output cells end in an ellipsis on purpose, with the whole text as title.)
_CUT_OFF_SCRIPT = """
const found = [];
const page = document.documentElement;
if (page.scrollWidth > window.innerWidth) found.push("the page: " + page.scrollWidth + " > " + window.innerWidth);
const context = document.createElement("canvas").getContext("2d");
for (const input of document.querySelectorAll("input[placeholder]")) {
  if (!input.offsetParent) continue;
  const style = getComputedStyle(input);
  context.font = style.font;
  const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  if (context.measureText(input.placeholder).width > room) found.push("placeholder of #" + input.id);
}
const boxes = "th, label, button, .count, .badge, caption, .summary-head, .legend, #page-info";
for (const node of document.querySelectorAll(boxes)) {
  if (!node.offsetParent || node.scrollWidth <= node.clientWidth + 1) continue;
  found.push(node.tagName + " " + node.textContent.trim());
}
return found;
"""
