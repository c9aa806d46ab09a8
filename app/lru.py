"""A bounded map that forgets the least recently used entry first."""

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class LRU:
    def __init__(self, maxsize: int) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._maxsize = maxsize

    def get(self, key: Hashable) -> Any:
        """The value kept for `key`, or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._maxsize:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
