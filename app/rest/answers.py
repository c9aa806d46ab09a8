"""What the endpoints answer with: instances in Altinn's API JSON form, with their platform
links pointing at this gateway, and the pages of a query with Altinn's `self` and `next`."""

from collections.abc import Mapping, Sequence
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request

from app.rest.instance_query import CONTINUATION_TOKEN
from app.rest.model import INSTANCE
from app.store.elements import matching_elements

STORAGE_PATH = "storage/api/v1/"

Document = Mapping[str, Any]


def storage_base(request: Request) -> str:
    """This gateway's Storage API root, as the request reached it: http://host/storage/api/v1/."""
    return f"{request.base_url}{STORAGE_PATH}"


def instance_answer(document: Document, base: str, element_filter: Mapping[str, Any] | None) -> dict[str, Any]:
    """The instance in API JSON form, with only the data elements `element_filter` lets the
    caller see (see Access.element_filter), and its links set as Altinn's
    Instance.SetPlatformSelfLinks sets them: `platform` is this gateway, `apps` stays."""
    elements = document.get("data")
    if element_filter is not None and isinstance(elements, list):
        document = {**document, "data": matching_elements([e for e in elements if isinstance(e, dict)], element_filter)}
    instance = cast(dict[str, Any], INSTANCE.render(document))  # a document is an object: never null
    platform = f"{base}instances/{instance['id']}"
    instance["selfLinks"] = {"apps": (instance["selfLinks"] or {}).get("apps"), "platform": platform}
    for element in instance["data"] or []:
        if element is not None:
            element["selfLinks"] = {
                "apps": (element["selfLinks"] or {}).get("apps"),
                "platform": f"{platform}/data/{element['id']}",
            }
    return instance


def page_link(request: Request, continuation_token: str | None) -> str:
    """A page's URL as Altinn Storage builds it (BuildRequestLink): without a token the request's
    own URL; with one the request's parameters, any continuationToken taken out, and the token
    appended last."""
    if continuation_token is None:
        return str(request.url)
    token = CONTINUATION_TOKEN.name
    pairs = [(k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True) if k.lower() != token.lower()]
    pairs.append((token, continuation_token))
    return str(request.url.replace(query=urlencode(pairs)))


def query_response(
    request: Request, instances: Sequence[dict[str, Any]], given_token: str | None, next_token: str | None
) -> dict[str, Any]:
    """Altinn's QueryResponse<Instance>: `count` is the number on this page; `next` is left out
    on the last page."""
    response: dict[str, Any] = {"count": len(instances), "self": page_link(request, given_token)}
    if next_token is not None:
        response["next"] = page_link(request, next_token)
    response["instances"] = list(instances)
    return response
