"""Browser tests: the app served for real, driven by Debian's Chromium through Playwright.

Fixtures (names are stable; other test files build on them):

- `live_server`: the test `app` (its own database, as for every test) served over HTTP on a free
  port of 127.0.0.1 in a background thread. Attributes: `.url` (e.g. ``http://127.0.0.1:43117``,
  no trailing slash), `.port`, `.app`. Data created with `app.app_context()` before or during the
  test is visible to the server, which uses the same database.
- `make_live_server(wsgi_app, host="127.0.0.1")`: serve any other WSGI app (a "third-party site"
  on another origin, a second copy of the app...) the same way; stopped after the test.
- `staff_token`: a bearer token of a staff user of `app`, for recording results through the API.
- `browser`: one headless Chromium per test session (`/usr/bin/chromium`, installed by `make test`).
- `page`: a fresh browser context and page per test (JavaScript on). `new_page(**context_options)`
  makes more, e.g. `new_page(java_script_enabled=False)`; all are closed after the test.

Chromium comes from the Debian package (`apt-get install chromium`) and Playwright is only the
driver: `make test` installs both (`make browser`). A missing browser fails these tests with
that instruction rather than skipping them silently.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, create_user

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LiveServer:
    url: str
    port: int
    app: Any
    _server: Any
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def _serve(wsgi_app, host: str = "127.0.0.1") -> LiveServer:
    server = make_server(host, 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"live-server-{server.server_port}", daemon=True)
    thread.start()
    return LiveServer(f"http://{host}:{server.server_port}", server.server_port, wsgi_app, server, thread)


@pytest.fixture
def make_live_server() -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def _make(wsgi_app, host: str = "127.0.0.1") -> LiveServer:
        server = _serve(wsgi_app, host)
        started.append(server)
        return server

    yield _make
    for server in started:
        server.stop()


@pytest.fixture
def live_server(app, make_live_server) -> LiveServer:
    return make_live_server(app)


@pytest.fixture
def staff_token(app) -> str:
    from app.services.accounts.tokens import create_token

    user_id = create_user(app, STAFF_EMAIL, STAFF_PASSWORD, staff=True)
    with app.app_context():
        return create_token(user_id)


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Chromium is not installed: run `make browser` (apt-get install chromium; pip install playwright)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed: run `make browser` (pip install playwright)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser) -> Iterator[Callable[..., Any]]:
    contexts = []

    def _new_page(**context_options):
        context = browser.new_context(**context_options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
