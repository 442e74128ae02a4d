"""Browser fixtures: the app served on a free loopback port (fresh demo database per test) and one
Chromium for the session, driven by Playwright. Screenshots land in test-output/browser/."""

from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.factories import (
    login,
    make_app,
    screenshot,  # noqa: F401 - imported from here
)

CHROMIUM = os.environ.get("JIXIAO_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


class Served:
    """The app behind a real HTTP server on 127.0.0.1:<free port>."""

    def __init__(self, app) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)


@pytest.fixture
def served(database_url):
    from app.extensions import db

    app = make_app(database_url)
    server = Served(app)
    yield server
    server.stop()
    app.extensions["jixiao_jobs"].stop(timeout=30)  # the runner thread of jobs the pages started
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, served):
    """``new_page(viewport=None)``: a page in a fresh context (own cookies), Chinese, on the served app."""
    contexts = []

    refused: list[str] = []  # scripts or styles the Content-Security-Policy blocked: a broken screen

    def _new(width: int = 1366, height: int = 768, locale: str = "zh-CN"):
        context = browser.new_context(base_url=served.url, viewport={"width": width, "height": height},
                                      locale=locale, accept_downloads=True)
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: refused.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text else None)
        return page

    yield _new
    for context in contexts:
        context.close()
    assert not refused, "the Content-Security-Policy blocked part of a page:\n" + "\n".join(refused)


@pytest.fixture
def as_user(new_page):
    """``as_user("emp1")``: a signed-in page (own browser context) for that demo user."""

    def _as(username: str, **kwargs):
        page = new_page(**kwargs)
        login(page, username)
        return page

    return _as
