"""The media type of a GraphQL response, chosen by the request's Accept header (GraphQL over
HTTP): application/graphql-response+json when the client asks for it, application/json otherwise.

The two differ in status codes only: application/json answers every well-formed request with 200,
application/graphql-response+json answers a request that was never executed (a document that does
not parse or validate, variables that do not coerce) with 4xx and no `data` entry."""

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

# Ranges that accept application/json without naming it; the GraphQL-over-HTTP spec keeps
# application/json for them so that clients written before the new type see no change.
_JSON_RANGES = (JSON, "application/*", "*/*")


def response_media_type(accept: str | None) -> str:
    """The supported type the client ranks highest: by quality, then by its place in Accept.
    Without Accept, or accepting neither type, application/json."""
    ranked = []
    for place, media_range in enumerate((accept or "").lower().split(",")):
        name, *parameters = (part.strip() for part in media_range.split(";"))
        quality = _quality(parameters)
        if name == GRAPHQL_RESPONSE_JSON and quality > 0:
            ranked.append((-quality, place, GRAPHQL_RESPONSE_JSON))
        elif name in _JSON_RANGES and quality > 0:
            ranked.append((-quality, place, JSON))
    return min(ranked)[2] if ranked else JSON


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0  # a malformed weight: the range is ignored
    return 1.0
