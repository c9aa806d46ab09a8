"""What a resolver is given: Strawberry's Info over the request's Context."""

import strawberry

from app.context import Context

Info = strawberry.Info[Context, None]
