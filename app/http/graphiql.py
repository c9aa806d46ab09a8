"""GraphiQL served by the gateway itself: the page and its vendored assets (see
static/graphiql/README.md), so it works offline and behind firewalls that block CDNs."""

import html
import json
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
SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")

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
    """`value` as a JavaScript literal that is safe inside an inline <script>: no '<', '>'
    or '&' (so no `</script>` or `<!--`), and no raw U+2028/U+2029 (ensure_ascii)."""
    text = json.dumps(value, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_PAGE = """\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>instance-gateway GraphiQL</title>
    <link rel="icon" href="data:," />
    <style>
      body {{ margin: 0; height: 100vh; overflow: hidden; }}
      #graphiql {{ height: 100vh; }}
    </style>
{stylesheets}
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL\u2026</div>
{scripts}
    <script>
      const config = {config};
      const fetcher = GraphiQL.createFetcher({{ url: new URL(config.endpoint, window.location.href).href }});
      const props = {{
        fetcher: fetcher,
        defaultQuery: config.query,
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: false,
      }};
      if (config.headers !== null) {{
        props.defaultHeaders = config.headers;
        props.headers = config.headers;
        props.defaultEditorToolsVisibility = "headers";
      }}
      ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GraphiQL, props));
    </script>
  </body>
</html>
"""


def render_graphiql(
    headers: dict[str, str] | None = None,
    *,
    query: str = DEFAULT_QUERY,
    endpoint: str = ENDPOINT,
    static_path: str = STATIC_PATH,
) -> str:
    """The GraphiQL page: assets from `static_path`, queries to `endpoint`, the editor
    starting with `query` and, if given, `headers` in the headers editor."""
    config = {
        "endpoint": endpoint,
        "query": query,
        "headers": json.dumps(headers, indent=2) if headers else None,
    }
    base = html.escape(static_path)
    stylesheets = "\n".join(f'    <link rel="stylesheet" href="{base}/{name}" />' for name in STYLESHEETS)
    scripts = "\n".join(f'    <script src="{base}/{name}"></script>' for name in SCRIPTS)
    return _PAGE.format(stylesheets=stylesheets, scripts=scripts, config=script_json(config))


def graphiql_response(headers: dict[str, str] | None = None) -> HTMLResponse:
    """The page as a response; never cached, as it may carry a development token."""
    return HTMLResponse(render_graphiql(headers), headers={"Cache-Control": "no-store"})


def graphiql_static() -> Mount:
    """The route serving the vendored GraphiQL assets under STATIC_PATH."""
    return Mount(STATIC_PATH, app=StaticFiles(directory=STATIC_DIR), name="graphiql-static")
