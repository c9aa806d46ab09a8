"""A bounded map that forgets the least recently used entry first."""

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class LRU:
    """At most `maxsize` entries; with `max_weight`, also at most that much of the values'
    weights (`weigh`, such as their bytes), and a value heavier than that alone is not kept."""

    def __init__(
        self, maxsize: int, *, max_weight: float = float("inf"), weigh: Callable[[Any], int] = lambda _: 0
    ) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._maxsize = maxsize
        self._max_weight = max_weight
        self._weigh = weigh
        self._weight = 0

    def get(self, key: Hashable) -> Any:
        """The value kept for `key`, or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        weight = self._weigh(value)
        if weight > self._max_weight:
            return
        if key in self._items:
            self._weight -= self._weigh(self._items[key])
        self._items[key] = value
        self._items.move_to_end(key)
        self._weight += weight
        while len(self._items) > self._maxsize or self._weight > self._max_weight:
            _, forgotten = self._items.popitem(last=False)
            self._weight -= self._weigh(forgotten)

    def pop(self, key: Hashable) -> None:
        """Forget `key`, if kept."""
        value = self._items.pop(key, None)
        if value is not None:
            self._weight -= self._weigh(value)

    def __len__(self) -> int:
        return len(self._items)
