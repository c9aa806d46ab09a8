"""GraphQL enums over the core's (app/enums.py): the same names and values, with GraphQL's
descriptions."""

from enum import Enum
from typing import TypeVar

import strawberry

E = TypeVar("E", bound=Enum)


def graphql_enum(enum: type[E], description: str, **value_descriptions: str) -> type[E]:
    """`enum` as a GraphQL enum of the same name; every value needs its description."""
    values = {m.name: strawberry.enum_value(m.value, description=value_descriptions[m.name]) for m in enum}
    return strawberry.enum(Enum(enum.__name__, values), description=description)  # type: ignore[return-value]
