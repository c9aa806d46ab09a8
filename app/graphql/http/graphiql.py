"""GraphiQL served by the gateway itself: the page and its vendored assets (see
static/graphiql/README.md), so it works offline and behind firewalls that block CDNs."""

import base64
import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static" / "graphiql"
STATIC_PATH = "/graphql/static"
ENDPOINT = "/graphql"

# The files the page loads, in order, from STATIC_DIR.
STYLESHEETS = ("graphiql.min.css",)
SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "fetcher.js",
    "tabs.js",
    "token.js",
    "explain.js",
)

DEFAULT_QUERY = """\
# instance-gateway: GraphQL over Altinn 3 instances.
#
# Run: Ctrl-Enter or the \u25b6 button. Complete: Ctrl-Space.
# Schema: the Docs button on the left.
#
# Requests need a token in Headers below:
#   {"Authorization": "Bearer <token>"}
# The embedded demo store fills one in;
# `instance-gateway token --help` mints others.
#
# Subscriptions run over a WebSocket with the same
# token, and show each change as it comes:
#   subscription {
#     instanceChanged { operation instanceId at }
#   }

query LatestInstances {
  instances(first: 5) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      id
      appId
      instanceOwner {
        partyId
        organisationNumber
      }
      process {
        currentTask {
          elementId
          altinnTaskType
        }
        ended
      }
      status {
        isArchived
        readStatus
      }
      lastChanged
    }
  }
}
"""


def script_json(value: Any) -> str:
    """`value` as JSON that is safe inside a <script> element: no '<', '>' or '&' (so no
    `</script>` or `<!--`), and no raw U+2028/U+2029 (ensure_ascii)."""
    text = json.dumps(value, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# The page's own style and script are constant, so that the Content-Security-Policy can allow
# exactly them by hash; what varies (endpoint, query, headers) is a JSON data block, which the
# browser never runs.
_STYLE = """
      body { margin: 0; height: 100vh; overflow: hidden; display: flex; flex-direction: column; }
      #graphiql { flex: 1; min-height: 0; }
      #token-note,
      #trusted-only-note { margin: 0; padding: 8px 16px; font: 14px/1.4 system-ui, sans-serif; background: #fff4d6; }
      .graphiql-footer:empty { display: none; }
      .query-plan pre { font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
    """

_SCRIPT = """
      const config = JSON.parse(document.getElementById("graphiql-config").textContent);
      const url = new URL(config.endpoint, window.location.href);
      const subscriptionUrl = new URL(url);
      subscriptionUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      const tabs = createTabSubscriptions();
      const gateway = createGatewayFetcher({ url: url.href, subscriptionUrl: subscriptionUrl.href });
      const plans = createQueryPlans();
      const gatewayFetcher = tabs.fetcher(plans.fetcher(gateway));
      const props = {
        defaultQuery: config.query,
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: false,
        defaultEditorToolsVisibility: "headers",
        plugins: [plans.plugin],
      };
      if (config.headers !== null) {
        props.defaultHeaders = config.headers;
        props.headers = config.headers;
      }
      function Page() {
        const schema = useSchemaOnceTokenIsThere(gatewayFetcher, config.headers);
        const footer = React.createElement(GraphiQL.Footer, null, React.createElement(tabs.TabSubscriptions));
        return React.createElement(GraphiQL, { ...props, ...schema }, footer);
      }
      ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
    """

_PAGE = """\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>instance-gateway GraphiQL</title>
    <link rel="icon" href="data:," />
    <style>{style}</style>
{stylesheets}
  </head>
  <body>
{note}
    <div id="graphiql">Loading GraphiQL\u2026</div>
    <script id="graphiql-config" type="application/json">{config}</script>
{scripts}
    <script>{script}</script>
  </body>
</html>
"""


# Shown by a gateway that gives no development token (MongoDB, or a configured key): without a
# token GraphiQL gets no schema either, so the page says where one comes from.
_TOKEN_NOTE = """\
    <p id="token-note">
      No token yet: put one in <b>Headers</b> below, as
      <code>{"Authorization": "Bearer &lt;token&gt;"}</code>, and the schema loads. Mint one where
      the gateway runs with <code>instance-gateway token --help</code> (it signs with
      <code>GATEWAY_JWT_SECRET</code>), or, with <code>GATEWAY_JWT_PUBLIC_KEY_FILE</code>, use an
      Altinn token from that key's issuer.
    </p>"""


# Shown by a gateway that runs only its manifest's documents: GraphiQL's, the schema's
# introspection included, are refused, so the page says it is of no use here.
_TRUSTED_ONLY_NOTE = """\
    <p id="trusted-only-note">
      This gateway runs only trusted documents (<code>GATEWAY_TRUSTED_DOCUMENTS_ONLY</code>): a
      query typed here, and GraphiQL's own schema query, is refused with
      <code>TRUSTED_DOCUMENTS_ONLY</code>, so GraphiQL is of no use here. Explore the API on a
      gateway that runs any document, such as <code>make serve</code>.
    </p>"""


def _hash_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# A Host header that a CSP host-source can name: a name or an IPv4 address, and a port. Anything
# else (an IPv6 literal, which CSP cannot express, or a forged value) gets 'self' alone.
_HOST = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]{1,5})?")


def content_security_policy(host: str | None) -> str:
    """The page's policy when it was asked for at `host`. It loads its own assets and nothing
    else, talks to its own origin only, and may not be framed (no clickjacking of a page that can
    carry a token). Its own origin includes the WebSocket of subscriptions on the same host:
    browsers of CSP Level 2 do not count ws:/wss: as 'self', so that host is named too."""
    connect = "'self'"
    if host is not None and _HOST.fullmatch(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' {_hash_source(_SCRIPT)}",
            f"style-src 'self' {_hash_source(_STYLE)}",
            "img-src 'self' data:",
            "font-src 'self' data:",  # GraphiQL's stylesheet embeds its fonts
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # it may carry a development token
}


def render_graphiql(
    headers: dict[str, str] | None = None,
    *,
    query: str = DEFAULT_QUERY,
    endpoint: str = ENDPOINT,
    static_path: str = STATIC_PATH,
    trusted_only: bool = False,
) -> str:
    """The GraphiQL page: assets from `static_path`, queries to `endpoint`, the editor
    starting with `query` and, if given, `headers` in the headers editor; without them, a note
    on how to get a token. With `trusted_only`, a note that no query typed here runs instead."""
    config = {
        "endpoint": endpoint,
        "query": query,
        "headers": json.dumps(headers, indent=2) if headers else None,
    }
    base = html.escape(static_path)
    stylesheets = "\n".join(f'    <link rel="stylesheet" href="{base}/{name}" />' for name in STYLESHEETS)
    scripts = "\n".join(f'    <script src="{base}/{name}"></script>' for name in SCRIPTS)
    return _PAGE.format(
        style=_STYLE,
        stylesheets=stylesheets,
        note=_TRUSTED_ONLY_NOTE if trusted_only else "" if headers else _TOKEN_NOTE,
        config=script_json(config),
        scripts=scripts,
        script=_SCRIPT,
    )


def graphiql_response(
    headers: dict[str, str] | None = None, host: str | None = None, *, trusted_only: bool = False
) -> HTMLResponse:
    """The page as a response to a request for it at `host`, with PAGE_HEADERS and its
    Content-Security-Policy."""
    policy = {"Content-Security-Policy": content_security_policy(host)}
    return HTMLResponse(render_graphiql(headers, trusted_only=trusted_only), headers={**PAGE_HEADERS, **policy})


def graphiql_static() -> Mount:
    """The route serving the vendored GraphiQL assets under STATIC_PATH."""
    return Mount(STATIC_PATH, app=StaticFiles(directory=STATIC_DIR), name="graphiql-static")
