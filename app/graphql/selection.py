"""Which fields a query selects, so the store fetches only those."""

from collections.abc import Iterable, Sequence

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

# Instance fields computed from other stored fields.
_DERIVED_FROM = {"instanceGuid": ("id",), "events": ("id", "org")}


def _fields(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    for selection in selections:
        if isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)
        else:
            yield selection


def subfields(selections: Sequence[Selection], *path: str) -> list[SelectedField]:
    """The fields selected under `path`, e.g. ("edges", "node"), through fragments."""
    current = list(_fields(selections))
    for name in path:
        current = [child for f in current if f.name == name for child in _fields(f.selections)]
    return current


def document_fields(instance_fields: Iterable[SelectedField]) -> set[str]:
    """The stored top-level fields that the selected Instance fields read."""
    return {stored for f in instance_fields for stored in _DERIVED_FROM.get(f.name, (f.name,))}


def selects(selections: Sequence[Selection], name: str) -> bool:
    return any(f.name == name for f in _fields(selections))
