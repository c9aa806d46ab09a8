"""What every resolver may read: the store and, in one place, the caller's read restriction."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import strawberry

from app.store.instances import InstanceStore


@dataclass
class Context:
    store: InstanceStore

    async def read_restriction(self) -> Mapping[str, Any] | None:
        """The filter every read is narrowed by (None: no restriction)."""
        return None


Info = strawberry.Info[Context, None]
