"""The dashboard's fixtures: the real server behind uvicorn with the SMTP stand-in, and a real headless
Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by Selenium; nothing downloads a browser)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import CHROMEDRIVER, CHROMIUM, Site, browser_problems

from memorylayer.config import Settings
from memorylayer.engine import Engine
from memorylayer.server import ServerSettings, create_app
from standins.smtp import smtp_inbox
from support import Clock, serve_in_thread


@pytest.fixture
def site(home: Path) -> Iterator[Site]:
    with smtp_inbox() as (inbox, port):
        settings = Settings.load(home=home)
        engine = Engine.open(settings=settings)
        server = ServerSettings.load(home, smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")
        clock = Clock()
        app = create_app(settings, server=server, engine=engine, clock=clock)
        try:
            with serve_in_thread(app, lifespan="on") as url:
                yield Site(url, app.state.server, inbox, clock)
        finally:
            engine.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists()]
    if missing:
        reason = (
            f"{', '.join(missing)} not installed: run scripts/browser-tools.sh (Debian's chromium, chromium-driver)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        print(f"SKIPPED: {reason}", file=sys.stderr)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory(prefix="memorylayer-chromium-") as profile:
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=1280,900",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture
def browser(chromium: object, site: Site) -> Iterator[object]:
    """The shared browser, signed out, on this test's server; fails the test on a CSP violation or a script error."""
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(chromium, WebDriver)
    chromium.get(site.url + "/health")
    chromium.delete_all_cookies()
    chromium.get_log("browser")
    yield chromium
    problems = browser_problems(chromium)
    assert problems == [], problems
