"""What the endpoints answer with: instances in Altinn's API JSON form, with their platform
links pointing at this gateway, and the pages of a query with Altinn's `self` and `next`."""

from collections.abc import Mapping, Sequence
from typing import Any, cast
from urllib.parse import quote, unquote_plus

from pydantic import HttpUrl
from starlette.requests import Request

from app.rest.instance_query import CONTINUATION_TOKEN
from app.rest.model import INSTANCE
from app.store.elements import matching_elements

STORAGE_PATH = "/storage/api/v1/"
DEFAULT_PORTS = {"http": 80, "https": 443}

Document = Mapping[str, Any]


def gateway_base(request: Request, public_url: HttpUrl | None) -> str:
    """Where the links of an answer start: GATEWAY_PUBLIC_URL, or else the address the request's
    connection reached (what `serve --host --port` listens on), never the Host header, which the
    client writes; empty (links relative to the request) on a socket with no address."""
    if public_url is not None:
        return str(public_url).rstrip("/")
    scheme, server = request.scope["scheme"], request.scope.get("server")
    if not server or server[0].startswith("/"):  # no address, or a Unix socket's path
        return ""
    host, port = server
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS.get(scheme)) else f"{scheme}://{host}:{port}"


def instance_answer(document: Document, base: str, element_filter: Mapping[str, Any] | None) -> dict[str, Any]:
    """The instance in API JSON form, with only the data elements `element_filter` lets the
    caller see (see Access.element_filter), and its links set as Altinn's
    Instance.SetPlatformSelfLinks sets them: `platform` is this gateway, `apps` stays."""
    elements = document.get("data")
    if element_filter is not None and isinstance(elements, list):
        document = {**document, "data": matching_elements([e for e in elements if isinstance(e, dict)], element_filter)}
    instance = cast(dict[str, Any], INSTANCE.render(document))  # a document is an object: never null
    platform = f"{base}{STORAGE_PATH}instances/{instance['id']}"
    instance["selfLinks"] = {"apps": (instance["selfLinks"] or {}).get("apps"), "platform": platform}
    for element in instance["data"] or []:
        if element is not None:
            element["selfLinks"] = {
                "apps": (element["selfLinks"] or {}).get("apps"),
                "platform": f"{platform}/data/{element['id']}",
            }
    return instance


def page_link(base: str, request: Request, continuation_token: str | None) -> str:
    """A page's URL as Altinn Storage builds it (BuildRequestLink): the request's parameters,
    any continuationToken taken out, and the token appended last. The parameters stay as the
    caller wrote them, so that `self` and `next` encode each value alike."""
    token = CONTINUATION_TOKEN.name
    parts = [
        part
        for part in request.url.query.split("&")
        if part and unquote_plus(part.partition("=")[0]).lower() != token.lower()
    ]
    if continuation_token is not None:
        parts.append(f"{token}={quote(continuation_token, safe='')}")
    query = "&".join(parts)
    return f"{base}{request.url.path}" + (f"?{query}" if query else "")


def query_response(
    base: str, request: Request, instances: Sequence[dict[str, Any]], given_token: str | None, next_token: str | None
) -> dict[str, Any]:
    """Altinn's QueryResponse<Instance>: `count` is the number on this page; `next` is left out
    on the last page."""
    response: dict[str, Any] = {"count": len(instances), "self": page_link(base, request, given_token)}
    if next_token is not None:
        response["next"] = page_link(base, request, next_token)
    response["instances"] = list(instances)
    return response
