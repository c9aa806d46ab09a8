"""Matching data elements inside one instance with the same compiled query the database
uses for `data: {...}` conditions, so `Instance.data(filter)` and `instances(filter:
{data: ...})` can never disagree."""

from collections.abc import Mapping, Sequence
from typing import Any

from mongomock.filtering import filter_applies

from app.store.filters import compile_data_element_filter


def matching_elements(
    elements: Sequence[Mapping[str, Any]], element_filter: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    query = compile_data_element_filter(element_filter)
    return [element for element in elements if filter_applies(query, element)]
