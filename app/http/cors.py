"""Cross-origin requests (CORS) from the browser origins in Settings.cors_origins, and no others."""

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware


def allow_cross_origin(app: Starlette, origins: list[str], methods: Sequence[str]) -> None:
    """Answer preflight requests for `methods` and add CORS headers for `origins`; with none, nothing changes.
    Outermost, so that every answer (a 401 too) carries the headers a page needs to read it."""
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=methods,
            # Bearer tokens, never cookies: no credentials mode.
            allow_headers=["Authorization", "Content-Type"],
        )
