"""GraphiQL at GET /graphql, served with its assets by the gateway itself (no CDN): over HTTP
in process, and in headless Chromium against the real `instance-gateway serve --demo`."""

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from app.authorization import tokens
from app.authorization.tokens import DEVELOPMENT_SECRET
from app.composition import create_app
from app.config import Settings
from app.graphql.http.graphiql import STATIC_DIR, render_graphiql
from app.http.authentication import DEVELOPMENT_TOKEN_SECONDS
from tests.conftest import org_token
from tests.factories import make_instance
from tests.live_server import LiveGateway, live_gateway

SCREENSHOT = Path("/tmp/graphiql.png")


class _Assets(HTMLParser):
    """The URLs a page loads: script src and link href."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.urls.append(("script", values["src"] or ""))
        if tag == "link" and values.get("href"):
            self.urls.append((values.get("rel") or "", values["href"] or ""))


def _asset_urls(html: str) -> list[tuple[str, str]]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


@contextlib.asynccontextmanager
async def _client(settings: Settings):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


async def test_page_and_its_assets_are_served_locally(gateway_with):
    async with gateway_with() as gw:
        page = await gw.http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert re.search(r"https?://", page.text) is None, "the page must not load anything from elsewhere"
        assets = _asset_urls(page.text)
        kinds = sorted(kind for kind, _ in assets if kind != "icon")
        assert kinds == ["script"] * 7 + ["stylesheet"]
        for kind, url in assets:
            if kind == "icon":
                assert url.startswith("data:")
                continue
            assert url.startswith("/graphql/static/"), url
            response = await gw.http.get(url)
            assert response.status_code == 200, url
            expected = ("text/css",) if kind == "stylesheet" else ("text/javascript", "application/javascript")
            assert response.headers["content-type"].split(";")[0] in expected, (url, response.headers)
            assert response.content == (STATIC_DIR / url.rsplit("/", 1)[1]).read_bytes()
        assert (await gw.http.get("/graphql/static/missing.js")).status_code == 404
        assert (await gw.http.get("/graphql/static/../graphiql.py")).status_code == 404


async def test_no_default_headers_when_the_gateway_checks_real_tokens(gateway_with):
    async with gateway_with() as gw:  # a configured secret: no development token
        page = await gw.http.get("/graphql", headers={"accept": "text/html"})
    assert "Bearer ey" not in page.text
    assert '"headers": null' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert 'id="token-note"' in page.text  # how to get one instead


async def test_embedded_development_mode_prefills_a_token():
    async with _client(Settings(_env_file=None)) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert re.search(r'\\"Authorization\\": \\"Bearer ey[\w.-]+\\"', page.text), page.text
    assert 'id="token-note"' not in page.text


def _development_token(page: str) -> dict[str, Any]:
    token = re.search(r"Bearer (ey[\w.-]+)", page)
    assert token, page
    # Signed with the development secret; its times are checked by the test.
    return jwt.decode(
        token[1], DEVELOPMENT_SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False}
    )


async def test_the_development_token_is_minted_when_the_page_is_served(monkeypatch):
    started = datetime.now(UTC)
    async with _client(Settings(_env_file=None)) as client:
        first = _development_token((await client.get("/graphql", headers={"accept": "text/html"})).text)

        class ThirteenHoursLater(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> datetime:
                return started + timedelta(hours=13)

        monkeypatch.setattr(tokens, "datetime", ThirteenHoursLater)
        later = _development_token((await client.get("/graphql", headers={"accept": "text/html"})).text)
    # A token minted at the start would have expired 13 hours on; the page served then carries a
    # new one, valid for 12 hours from then.
    assert abs(first["iat"] - started.timestamp()) < 60
    assert first["exp"] - first["iat"] == DEVELOPMENT_TOKEN_SECONDS
    assert later["iat"] == int((started + timedelta(hours=13)).timestamp())
    assert later["exp"] - later["iat"] == DEVELOPMENT_TOKEN_SECONDS


def _page_parts(html: str) -> tuple[dict[str, Any], list[str], list[str]]:
    """The page's JSON config, its inline scripts and its inline styles."""
    config = re.search(r'<script id="graphiql-config" type="application/json">(.*?)</script>', html, re.S)
    assert config, html
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    return json.loads(config[1]), scripts, styles


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


async def test_the_page_is_served_with_security_headers(gateway_with):
    async with gateway_with() as gw:
        page = await gw.http.get("/graphql", headers={"accept": "text/html"})
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    policy = dict(directive.strip().split(" ", 1) for directive in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    # Its own origin, and the WebSocket of the host it was asked for (the test client's "gateway").
    assert policy["connect-src"] == "'self' ws://gateway wss://gateway"
    assert "unsafe" not in page.headers["content-security-policy"]  # no 'unsafe-inline' nor 'unsafe-eval'
    # The inline script and style are allowed by their hashes, and nothing else inline is.
    _, [script], [style] = _page_parts(page.text)
    assert policy["script-src"] == f"'self' {_csp_hash(script)}"
    assert policy["style-src"] == f"'self' {_csp_hash(style)}"


@pytest.mark.parametrize(
    ("host", "connect"),
    [
        ("gateway.example:8443", "'self' ws://gateway.example:8443 wss://gateway.example:8443"),
        ("127.0.0.1:8000", "'self' ws://127.0.0.1:8000 wss://127.0.0.1:8000"),
        ("[::1]:8000", "'self'"),  # CSP cannot name an IPv6 address: 'self' alone
        ("evil.example; script-src *", "'self'"),
        ("*", "'self'"),
    ],
)
async def test_the_websocket_allowed_is_the_one_of_the_host_asked(host, connect):
    async with _client(Settings(_env_file=None)) as client:
        page = await client.get("/graphql", headers={"accept": "text/html", "host": host})
    policy = page.headers["content-security-policy"]
    directives = [directive.strip() for directive in policy.split(";")]
    assert f"connect-src {connect}" in directives
    assert len(directives) == 9, policy
    assert "script-src 'self' 'sha256-" in policy


async def test_graphiql_switched_off_serves_no_page(gateway_with):
    async with gateway_with(graphiql=False) as gw:
        anonymous = await gw.http.get("/graphql", headers={"accept": "text/html"})
        with_token = await gw.http.get(
            "/graphql", headers={"accept": "text/html", "authorization": f"Bearer {org_token()}"}
        )
        asset = await gw.http.get("/graphql/static/graphiql.min.js")
    # A plain GraphQL GET: a token is needed, and then a query.
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert with_token.status_code == 400
    assert with_token.headers["content-type"] == "application/json"
    assert with_token.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert asset.status_code == 404


def test_headers_and_query_are_escaped_for_the_config_script():
    evil = {"X-Evil": "</script><script>alert(1)</script>&\u2028"}
    html = render_graphiql(evil, query="# </script>\n{ a }")
    block = html.split('<script id="graphiql-config" type="application/json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block
    assert "\u2028" not in block
    config, _, _ = _page_parts(html)
    assert json.loads(config["headers"]) == evil
    assert config["query"] == "# </script>\n{ a }"
    assert config["endpoint"] == "/graphql"


# --- In headless Chromium, against the real server --------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--window-size=1280,800",
    "--remote-debugging-pipe",
]


def _above_9(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class DevTools:
    """Headless Chromium driven over the Chrome DevTools Protocol on a pipe
    (--remote-debugging-pipe: JSON messages ending in NUL on fds 3 and 4), no websocket needed."""

    def __init__(self, executable: str, profile: Path, log: Path) -> None:
        browser_reads, to_browser = os.pipe()
        from_browser, browser_writes = os.pipe()
        # bash (dash takes one-digit fds only) puts the browser's ends on fds 3 and 4, where Chromium
        # expects them; from fds of 10 and up, so that neither is 3 or 4 and overwritten by the other
        browser_reads, browser_writes = _above_9(browser_reads), _above_9(browser_writes)
        script = f'exec "$0" "$@" 3<&{browser_reads} 4>&{browser_writes}'
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                ["/bin/bash", "-c", script, executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                pass_fds=(browser_reads, browser_writes),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        os.close(browser_reads)
        os.close(browser_writes)
        self._out = os.fdopen(to_browser, "wb", buffering=0)
        self._in = os.fdopen(from_browser, "rb", buffering=0)
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        try:
            while chunk := self._in.read(1 << 16):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for message in messages:
                    self._messages.put(json.loads(message))
        finally:
            self._messages.put(None)  # Chromium has gone

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None, timeout: float = 20
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._out.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self._messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no reply to {method} within {timeout}s") from None
            if reply is None:
                raise RuntimeError(f"Chromium closed the pipe during {method}")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._reader.join(timeout=10)  # it ends at the pipe's end, when Chromium has exited
        self._out.close()
        if not self._reader.is_alive():
            self._in.close()


RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


class Page:
    def __init__(self, browser: DevTools) -> None:
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable")
        # Whatever the page's Content-Security-Policy blocks, recorded from the first script on.
        self.send("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CSP_VIOLATIONS})

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def editor(self, selector: str) -> str | None:
        """The text in the CodeMirror editor at `selector`, if there is one."""
        return self.evaluate(f"document.querySelector({json.dumps(selector)})?.CodeMirror?.getValue()")

    def wait_for(self, expression: str, timeout: float, what: str) -> Any:
        """The first truthy value of `expression`, polled until `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError):
                if value := self.evaluate(expression):
                    return value
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; console: {self.console()}")

    def requested_urls(self) -> list[str]:
        return [
            event["params"]["request"]["url"]
            for event in self.browser.events
            if event.get("method") == "Network.requestWillBeSent"
        ]

    def console(self) -> list[str]:
        return [
            json.dumps(event["params"])[:500]
            for event in self.browser.events
            if event.get("method") in ("Runtime.exceptionThrown", "Runtime.consoleAPICalled")
        ]

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"]))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    """`instance-gateway serve --demo` as a user runs it: embedded store, development token."""
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port)],
            cwd=tmp_path,  # no .env file
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert server.poll() is None, f"the server exited: {log.read_text()}"
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return response.status == 200

    try:
        _wait_until(healthy, 30, "the server")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    if CHROMIUM is None:
        pytest.skip("chromium not installed: apt-get install chromium")
    browser = DevTools(CHROMIUM, tmp_path / "profile", tmp_path / "chromium.log")
    try:
        yield Page(browser)
    finally:
        browser.close()


QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
SHOWN_TOOL_EDITOR = ".graphiql-editor-tool > .graphiql-editor:not(.hidden) .CodeMirror"
RESULT = ".result-window .CodeMirror"


def test_graphiql_renders_offline_and_runs_the_default_query(page, demo_server):
    page.send("Page.navigate", {"url": f"{demo_server}/graphql"})
    page.wait_for(f"!!document.querySelector({json.dumps(QUERY_EDITOR)})?.CodeMirror", 30, "GraphiQL's editor")
    assert page.evaluate("document.querySelector('#graphiql > .graphiql-container') !== null")
    assert "instances(first: 5)" in page.editor(QUERY_EDITOR)
    assert page.evaluate("document.querySelector('.graphiql-editor-tools [data-name=headers].active') !== null")
    headers = json.loads(page.editor(SHOWN_TOOL_EDITOR) or "null")
    assert headers["Authorization"].startswith("Bearer ey")  # the development token, ready to use

    page.evaluate("document.querySelector('.graphiql-execute-button').click()")
    result = page.wait_for(
        f"document.querySelector({json.dumps(RESULT)})?.CodeMirror?.getValue()", 30, "the query's result"
    )
    page.screenshot(SCREENSHOT)
    body = json.loads(result)
    assert "errors" not in body, body
    connection = body["data"]["instances"]
    assert connection["totalCount"] > 0
    assert 0 < len(connection["nodes"]) <= 5
    assert all(node["id"] and node["appId"] for node in connection["nodes"])

    # GraphiQL works under the page's Content-Security-Policy, which blocks nothing it needs.
    assert page.evaluate("window.cspViolations") == []

    outside = [url for url in page.requested_urls() if not url.startswith((demo_server, "data:", "about:"))]
    assert outside == [], "GraphiQL must load nothing from outside the gateway"
    assert "/graphql/static/graphiql.min.js" in " ".join(page.requested_urls())
    # A query goes over HTTP, as ever: no WebSocket.
    assert not [event for event in page.browser.events if event.get("method") == "Network.webSocketCreated"]


# --- Subscriptions in GraphiQL, in headless Chromium against a live gateway ---------------

SUBSCRIPTION = "subscription { instanceChanged { operation instanceId instance { status { substatus { label } } } } }"
SET_SUBSTATUS = "mutation($id: ID!, $label: String!) { setSubstatus(instanceId: $id, substatus: {label: $label}) {id} }"
HEADERS_TAB = ".graphiql-editor-tools [data-name=headers]"
EXECUTE_BUTTON = ".graphiql-execute-button"


def _open_graphiql(page: Page, url: str, *, authorization: str, query: str) -> None:
    """GraphiQL at `url` with this Authorization header in its Headers tab and `query` in its
    editor, once GraphiQL has taken both in."""
    page.send("Page.navigate", {"url": f"{url}/graphql"})
    page.wait_for(f"!!document.querySelector({json.dumps(QUERY_EDITOR)})?.CodeMirror", 30, "GraphiQL's editor")
    _fill_tab(page, authorization=authorization, query=query)


def _set_editor(page: Page, selector: str, text: str) -> None:
    page.evaluate(f"document.querySelector({json.dumps(selector)}).CodeMirror.setValue({json.dumps(text)})")


def _fill_tab(page: Page, *, authorization: str, query: str) -> None:
    """This Authorization header and `query` in the tab shown, once GraphiQL has taken both in."""
    page.evaluate(f"document.querySelector({json.dumps(HEADERS_TAB)}).click()")
    page.wait_for(f"!!document.querySelector({json.dumps(SHOWN_TOOL_EDITOR)})?.CodeMirror", 10, "the headers editor")
    _set_editor(page, SHOWN_TOOL_EDITOR, json.dumps({"Authorization": authorization}))
    _set_editor(page, QUERY_EDITOR, query)
    # GraphiQL parses the editor's text a moment after a change; run before, and it runs the old one.
    page.wait_for(
        f"(({{ print, parse }}, ast) => ast && print(ast) === print(parse({json.dumps(query)})))"
        f"(GraphiQL.GraphQL, document.querySelector({json.dumps(QUERY_EDITOR)}).CodeMirror.documentAST)",
        10,
        "GraphiQL to parse the query",
    )


def _result(page: Page, containing: str, what: str) -> dict[str, Any]:
    """The result pane's JSON once it contains `containing`."""
    text = page.wait_for(
        f"(t => t?.includes({json.dumps(containing)}) && t)"
        f"(document.querySelector({json.dumps(RESULT)})?.CodeMirror?.getValue())",
        20,
        what,
    )
    return json.loads(text)


def _until(page: Page, check: Callable[[], Any], timeout: float, what: str) -> Any:
    """The first truthy value of `check()` over what the browser has reported, polled until
    `timeout` seconds (its events arrive along with its answers, so each poll asks it something)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.evaluate("0")
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; console: {page.console()}")


def _websocket_events(page: Page, name: str) -> list[dict[str, Any]]:
    return [event["params"] for event in page.browser.events if event.get("method") == f"Network.webSocket{name}"]


def _frames(page: Page, direction: str) -> list[dict[str, Any]]:
    """The messages the page sent ("Sent") or received ("Received") over its WebSockets."""
    return [json.loads(frame["response"]["payloadData"]) for frame in _websocket_events(page, f"Frame{direction}")]


def _count(messages: list[dict[str, Any]], kind: str) -> int:
    return sum(message["type"] == kind for message in messages)


def _set_substatus(gateway: LiveGateway, instance_id: str, label: str) -> None:
    response = httpx.post(
        f"{gateway.http_url}/graphql",
        json={"query": SET_SUBSTATUS, "variables": {"id": instance_id, "label": label}},
        headers={"Authorization": f"Bearer {org_token()}"},
        timeout=10,
    )
    assert "errors" not in response.json(), response.json()


def _subscribers(gateway: LiveGateway, count: int) -> None:
    _wait_until(lambda: gateway.app.state.services.live.subscriber_count == count, 20, f"{count} subscribers")


def _event(label: str, instance_id: str) -> dict[str, Any]:
    return {
        "data": {
            "instanceChanged": {
                "operation": "UPDATED",
                "instanceId": instance_id,
                "instance": {"status": {"substatus": {"label": label}}},
            }
        }
    }


def test_graphiql_runs_a_subscription_and_shows_each_event_as_it_arrives(page):
    doc = make_instance(party_id="500")
    # Keep-alive pings every 0.2 s, so that several come (and must be answered) during the test.
    with live_gateway([doc], subscription_keepalive_s=0.2) as gateway:
        token = org_token()
        _open_graphiql(page, gateway.http_url, authorization=f"Bearer {token}", query=SUBSCRIPTION)
        page.evaluate(f"document.querySelector({json.dumps(EXECUTE_BUTTON)}).click()")
        _subscribers(gateway, 1)

        _set_substatus(gateway, doc["id"], "In review")
        assert _result(page, "In review", "the first event") == _event("In review", doc["id"])
        _set_substatus(gateway, doc["id"], "Approved")
        assert _result(page, "Approved", "the second event") == _event("Approved", doc["id"])
        page.screenshot(SCREENSHOT.with_name("graphiql-subscription.png"))

        # One connection to the gateway's /graphql, initialised with the Headers tab's token.
        [socket] = _websocket_events(page, "Created")
        assert socket["url"] == gateway.ws_url
        sent = _frames(page, "Sent")
        assert sent[0] == {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        assert sent[1]["type"] == "subscribe"
        assert sent[1]["payload"]["query"] == SUBSCRIPTION
        # Each ping is answered with a pong.
        _until(
            page,
            lambda: _count(_frames(page, "Sent"), "pong") >= _count(_frames(page, "Received"), "ping") >= 3,
            10,
            "pongs to three pings",
        )

        # The stop button ends the operation with `complete` and closes the socket.
        page.evaluate(f"document.querySelector({json.dumps(EXECUTE_BUTTON)}).click()")
        _until(page, lambda: _websocket_events(page, "Closed"), 10, "the socket to close")
        assert {"type": "complete", "id": sent[1]["id"]} in _frames(page, "Sent")
        _subscribers(gateway, 0)
        assert _result(page, "Approved", "the last event to stay") == _event("Approved", doc["id"])
        page.wait_for(
            f"document.querySelector({json.dumps(EXECUTE_BUTTON)}).getAttribute('aria-label').startsWith('Execute')",
            10,
            "the execute button",
        )
    assert page.evaluate("window.cspViolations") == []
    assert page.console() == []


LATEST, WATCH = "query Latest { instances { totalCount } }", "subscription Watch { instanceChanged { instanceId } }"


@pytest.mark.parametrize(
    ("query", "operation_name", "over_websocket"),
    [
        ("subscription { instanceChanged { instanceId } }", None, True),
        (f"{LATEST} {WATCH}", "Watch", True),
        (f"{LATEST} {WATCH}", "Latest", False),
        (f"{WATCH} {LATEST}", None, False),  # which one is not said: the server answers that over HTTP
        ("# subscription {\n{ instances { totalCount } }", None, False),
        ('mutation { subscription: setSubstatus(instanceId: "1/a") { id } }', None, False),
        ("subscription {", None, False),  # a syntax error: the server answers it over HTTP
    ],
)
def test_the_fetcher_takes_the_websocket_for_the_operation_that_is_a_subscription(
    page, query, operation_name, over_websocket
):
    with live_gateway() as gateway:
        page.send("Page.navigate", {"url": f"{gateway.http_url}/graphql"})
        page.wait_for("typeof createGatewayFetcher === 'function'", 30, "the fetcher")
        params = json.dumps({"query": query, "operationName": operation_name})
        # A subscription is an Observable, opened only when GraphiQL subscribes; a query or
        # mutation is a promise of the HTTP answer.
        urls = json.dumps({"url": "/graphql", "subscriptionUrl": gateway.ws_url})
        kind = page.evaluate(
            f"""(() => {{
                const answer = createGatewayFetcher({urls})({params}, {{ headers: {{}} }});
                return answer instanceof Promise ? "http" : typeof answer.subscribe;
            }})()"""
        )
    assert kind == ("function" if over_websocket else "http")


CLOSED = "The subscription's connection closed with code"


@pytest.mark.parametrize(
    ("authorization", "query", "shown"),
    [
        # a token the gateway refuses: it closes the connection with 4401
        ("Bearer not-a-token", SUBSCRIPTION, f"{CLOSED} 4401: Unauthorized: token is malformed"),
        ("", SUBSCRIPTION, f"{CLOSED} 4401: Unauthorized: no token"),
        # an operation the gateway refuses: an `error` message with its GraphQL errors
        (None, "subscription { instanceChanged { nonsense } }", "Cannot query field 'nonsense'"),
    ],
)
def test_a_subscription_the_gateway_refuses_shows_why(page, authorization, query, shown):
    with live_gateway() as gateway:
        authorization = f"Bearer {org_token()}" if authorization is None else authorization
        _open_graphiql(page, gateway.http_url, authorization=authorization, query=query)
        page.evaluate(f"document.querySelector({json.dumps(EXECUTE_BUTTON)}).click()")
        [error] = _result(page, shown, "the refusal")["errors"]
        assert error["message"].startswith(shown), error
        # Shown once: GraphiQL is ready to run again, the connection is closed, nothing tried again.
        page.wait_for(
            f"document.querySelector({json.dumps(EXECUTE_BUTTON)}).getAttribute('aria-label').startsWith('Execute')",
            10,
            "the execute button",
        )
        _until(page, lambda: _websocket_events(page, "Closed"), 10, "the socket to close")
        assert len(_websocket_events(page, "Created")) == 1
        assert page.console() == []


# --- GraphiQL's tabs, each with a subscription of its own ---------------------------------

FIRST_TAB = "subscription First { instanceChanged { instanceId instance { status { substatus { label } } } } }"
SECOND_TAB = "subscription Second { instanceChanged { operation instance { status { substatus { label } } } } }"
TAB = ".graphiql-tabs .graphiql-tab"


def _tab_event(query: str, label: str, instance_id: str) -> dict[str, Any]:
    change: dict[str, Any] = {"instance": {"status": {"substatus": {"label": label}}}}
    change.update({"instanceId": instance_id} if query == FIRST_TAB else {"operation": "UPDATED"})
    return {"data": {"instanceChanged": change}}


def _shows(page: Page, query: str, label: str, instance_id: str, what: str) -> None:
    """The result pane shows the event of `query` for the substatus `label`."""
    assert _result(page, label, what) == _tab_event(query, label, instance_id)


def _click(page: Page, selector: str, index: int = 0) -> None:
    page.evaluate(f"document.querySelectorAll({json.dumps(selector)})[{index}].click()")


def _show_tab(page: Page, index: int) -> None:
    _click(page, f"{TAB} .graphiql-tab-button", index)
    page.wait_for(f"document.querySelectorAll({json.dumps(TAB)})[{index}]?.ariaSelected === 'true'", 10, "the tab")


def _execute_button(page: Page, label: str) -> None:
    page.wait_for(
        f"document.querySelector({json.dumps(EXECUTE_BUTTON)}).getAttribute('aria-label').startsWith({json.dumps(label)})",
        10,
        f"the {label} button",
    )


def test_each_graphiql_tab_keeps_its_own_subscription(page):
    doc = make_instance(party_id="500")
    with live_gateway([doc]) as gateway:
        authorization = f"Bearer {org_token()}"
        _open_graphiql(page, gateway.http_url, authorization=authorization, query=FIRST_TAB)
        _click(page, EXECUTE_BUTTON)
        _subscribers(gateway, 1)
        _set_substatus(gateway, doc["id"], "One")
        _shows(page, FIRST_TAB, "One", doc["id"], "the first tab's event")

        # A new tab (GraphiQL does not stop anything for it) runs a subscription of its own, and
        # shows its own events only; the first tab's runs on.
        _click(page, ".graphiql-tab-add")
        page.wait_for(f"document.querySelectorAll({json.dumps(TAB)})[1]?.ariaSelected === 'true'", 10, "a new tab")
        _execute_button(page, "Execute")
        _fill_tab(page, authorization=authorization, query=SECOND_TAB)
        _click(page, EXECUTE_BUTTON)
        _subscribers(gateway, 2)
        _set_substatus(gateway, doc["id"], "Two")
        _shows(page, SECOND_TAB, "Two", doc["id"], "the second tab's event")

        # Switching tabs stops neither: the first tab is back with its latest event and its Stop
        # button.
        _show_tab(page, 0)
        _shows(page, FIRST_TAB, "Two", doc["id"], "the first tab's latest event")
        _execute_button(page, "Stop")
        assert gateway.app.state.services.live.subscriber_count == 2

        # Its Stop button stops its own subscription only.
        _click(page, EXECUTE_BUTTON)
        _subscribers(gateway, 1)
        _execute_button(page, "Execute")
        _show_tab(page, 1)
        _execute_button(page, "Stop")
        _set_substatus(gateway, doc["id"], "Three")
        _shows(page, SECOND_TAB, "Three", doc["id"], "the second tab's next event")
        _show_tab(page, 0)
        _shows(page, FIRST_TAB, "Two", doc["id"], "the first tab's last event")
        _execute_button(page, "Execute")

        # Closing a tab stops its subscription, though another tab is shown.
        assert gateway.app.state.services.live.subscriber_count == 1
        _click(page, f"{TAB} .graphiql-tab-close", 1)
        _subscribers(gateway, 0)
        page.wait_for(f"document.querySelectorAll({json.dumps(TAB)}).length < 2", 10, "the tab to close")
        _execute_button(page, "Execute")
        # Each subscription had a socket of its own, and each ended with `complete`.
        assert len(_websocket_events(page, "Created")) == 2
        assert _count(_frames(page, "Sent"), "complete") == 2
    assert page.evaluate("window.cspViolations") == []
    assert page.console() == []


# --- A gateway that gives no development token (MongoDB, or a configured key) -------------

DOCS_EXPLORER = ".graphiql-doc-explorer"


def _introspections(page: Page) -> list[dict[str, str]]:
    """The headers of each introspection request the page sent."""
    return [
        event["params"]["request"]["headers"]
        for event in page.browser.events
        if event.get("method") == "Network.requestWillBeSent"
        and "IntrospectionQuery" in (event["params"]["request"].get("postData") or "")
    ]


def test_without_a_development_token_the_page_says_how_to_get_one_and_fetches_the_schema_with_it(page):
    with live_gateway() as gateway:  # a configured secret, as on MongoDB: no development token
        page.send("Page.navigate", {"url": f"{gateway.http_url}/graphql"})
        page.wait_for(f"!!document.querySelector({json.dumps(QUERY_EDITOR)})?.CodeMirror", 30, "GraphiQL's editor")
        note = page.evaluate("document.getElementById('token-note').innerText")
        assert '{"Authorization": "Bearer <token>"}' in note
        assert "instance-gateway token --help" in note
        # The Headers editor is open, and empty.
        assert page.evaluate(f"document.querySelector({json.dumps(HEADERS_TAB)}).classList.contains('active')")
        assert page.editor(SHOWN_TOOL_EDITOR) == ""
        # The schema is refused without a token, and the result pane says so.
        refusal = _result(page, "UNAUTHENTICATED", "the schema's refusal")
        assert refusal["errors"][0]["message"].startswith("no token")
        _click(page, "[aria-label='Show Documentation Explorer']")
        page.wait_for(f"!!document.querySelector({json.dumps(DOCS_EXPLORER)})", 10, "the documentation explorer")
        assert "Root Types" not in page.evaluate(f"document.querySelector({json.dumps(DOCS_EXPLORER)}).innerText")
        assert len(_introspections(page)) == 1

        # Each token put in the Headers tab is tried, until the schema comes.
        _set_editor(page, SHOWN_TOOL_EDITOR, json.dumps({"Authorization": "Bearer not-a-token"}))
        _until(page, lambda: len(_introspections(page)) == 2, 10, "the schema fetched with the token")
        _result(page, "token is malformed", "the schema's refusal of that token")
        token = org_token()
        _set_editor(page, SHOWN_TOOL_EDITOR, json.dumps({"authorization": f"Bearer {token}"}, indent=2))
        page.wait_for(
            f"document.querySelector({json.dumps(DOCS_EXPLORER)}).innerText.includes('subscription: Subscription')",
            10,
            "the schema in the documentation explorer",
        )
        assert _introspections(page)[-1]["authorization"] == f"Bearer {token}"

        # Once it is there, another token changes nothing: the query run with it is all that is sent.
        _set_editor(page, SHOWN_TOOL_EDITOR, json.dumps({"Authorization": f"Bearer {org_token('skd')}"}))
        _click(page, EXECUTE_BUTTON)
        assert "data" in _result(page, "totalCount", "the default query's result")
        assert len(_introspections(page)) == 3
        page.screenshot(SCREENSHOT.with_name("graphiql-token.png"))
    assert page.evaluate("window.cspViolations") == []
    assert page.console() == []


def test_the_query_plan_toggle_sends_explain_and_the_pane_shows_it(page, demo_server):
    page.send("Page.navigate", {"url": f"{demo_server}/graphql"})
    page.wait_for(f"!!document.querySelector({json.dumps(QUERY_EDITOR)})?.CodeMirror", 30, "GraphiQL's editor")
    _click(page, ".graphiql-sidebar button[aria-label='Show Query plan']")
    page.wait_for("!!document.querySelector('#explain-toggle')", 10, "the query plan's pane")
    _click(page, "#explain-toggle")
    page.wait_for("document.querySelector('#explain-toggle').checked", 10, "the toggle on")
    _click(page, EXECUTE_BUTTON)
    shown = page.wait_for(
        """(t => t.includes('"commands"') && t)(document.querySelector('#explain-pane').textContent)""", 30, "the plan"
    )
    explain = json.loads(shown)  # the demo store is embedded: anyone gets the commands, with no plan
    assert [sent["field"] for sent in explain["commands"]] == ["instances", "instances"]
    assert explain["commands"][0]["command"]["find"] == "instances"
    assert _result(page, "totalCount", "the query's result")["extensions"]["explain"] == explain  # shown there too
    assert page.evaluate("window.cspViolations") == []
