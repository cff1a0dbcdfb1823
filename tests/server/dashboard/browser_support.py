"""Helpers of the browser tests: the site under test, sign-in through the pages, waits, screenshots."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memorylayer.server.core import ServerState
from standins.smtp import Inbox
from support import Clock

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Set to a folder (e.g. docs/images) to save a screenshot of each page the tests visit.
SCREENSHOTS_ENV = "MEMORYLAYER_SCREENSHOTS"
WAIT_S = 20


@dataclass
class Site:
    url: str
    state: ServerState
    inbox: Inbox
    clock: Clock

    def account_id(self, email: str) -> str:
        account = self.state.store.account_by_email(email)
        assert account is not None
        return account.id


def wait_for(driver: Any, condition: Any) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S).until(condition)


def submit(driver: Any, button: Any) -> None:
    """Click a submit button (or a link) and wait until the next page has loaded."""
    from selenium.common.exceptions import WebDriverException

    old = driver.find_element("tag name", "html")

    def gone(_: Any) -> bool:
        try:
            old.is_enabled()
        except WebDriverException:  # stale, or (chromedriver, mid-navigation) a node of no document
            return True
        return False

    button.click()
    wait_for(driver, gone)
    wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def fill(driver: Any, field_id: str, text: str) -> None:
    field = driver.find_element("id", field_id)
    field.clear()
    field.send_keys(text)


def button(driver: Any, text: str) -> Any:
    """The button whose visible text is ``text``."""
    found = [b for b in driver.find_elements("css selector", "button") if b.text.strip() == text]
    assert found, f"no button {text!r} on {driver.current_url}"
    return found[0]


def heading(driver: Any) -> str:
    return str(driver.find_element("tag name", "h1").text)


def sign_in(driver: Any, site: Site, email: str, *, start: str = "/signin") -> None:
    """Sign in through the pages with the code the SMTP stand-in received."""
    driver.get(site.url + start)
    fill(driver, "email", email)
    shot(driver, "signin")
    submit(driver, button(driver, "Email me a code"))
    assert heading(driver) == "Enter your code"
    fill(driver, "code", site.inbox.code_for(email))
    shot(driver, "signin-code")
    submit(driver, button(driver, "Sign in"))


def shot(driver: Any, name: str) -> None:
    """Save a full-page screenshot as ``<name>.png`` when MEMORYLAYER_SCREENSHOTS names a folder."""
    folder = os.environ.get(SCREENSHOTS_ENV)
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(600, min(int(height) + 40, 2000)))
    driver.save_screenshot(str(Path(folder) / f"dashboard-{name}.png"))
    driver.set_window_size(1280, 900)


def browser_problems(driver: Any) -> list[str]:
    """Console messages that mean a broken page: Content-Security-Policy violations and uncaught script errors."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Uncaught" in entry["message"]
    ]
