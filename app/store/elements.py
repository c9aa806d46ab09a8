"""Matching data elements inside one instance with the same compiled query the database
uses for `data: {...}` conditions, so `Instance.data(filter)` and `instances(filter:
{data: ...})` can never disagree."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mongomock.filtering import filter_applies

from app.store.filters import compile_data_element_filter

Elements = Sequence[Mapping[str, Any]]


def element_matcher(element_filter: Mapping[str, Any]) -> Callable[[Elements], list[Mapping[str, Any]]]:
    """The filter compiled once, for the data elements of many instances."""
    query = compile_data_element_filter(element_filter)
    return lambda elements: [element for element in elements if filter_applies(query, element)]


def matching_elements(elements: Elements, element_filter: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return element_matcher(element_filter)(elements)
