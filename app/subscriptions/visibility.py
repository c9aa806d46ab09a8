"""What one subscriber may see of a changed instance: its read restriction and its filter, as
one compiled query matched against the document in process. Subscribers with the same caller,
roles and filter share one Visibility, so a change is judged once for all of them, and only
when it names an org, app or party within the Visibility's `reach`. When the caller's grants
change, `regranted` gives what a fresh subscription would see."""

from collections.abc import Callable, Hashable, Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson

from app.authorization.access import Access
from app.authorization.identity import Caller
from app.store.filters import compile_read_query
from app.store.matching import Document, matcher
from app.subscriptions.reach import Reach, narrowest, reach_of
from app.timestamps import utc_now

# The restriction depends on the time (`visibleAfter`); it is decided again once it is older.
RESTRICTION_LIFETIME = timedelta(seconds=1)


def visibility_key(access: Access, instance_filter: Mapping[str, Any] | None) -> Hashable:
    roles = tuple(sorted((party, tuple(sorted(codes))) for party, codes in access.roles_by_party.items()))
    return access.caller, roles, orjson.dumps(instance_filter, option=orjson.OPT_SORT_KEYS)


class Visibility:
    def __init__(self, access: Access, instance_filter: Mapping[str, Any] | None) -> None:
        self._access = access
        self._filter = instance_filter
        self._matches: Callable[[Document], bool] | None = None
        self._decided_at: datetime | None = None
        # The restriction's orgs, apps and parties come of the caller's roles and the policies,
        # which change only by `regranted`; only its visibleAfter clause moves with time.
        self.reach: Reach | None = narrowest(reach_of(instance_filter), reach_of(access.read_restriction(utc_now())))
        self.role_holder = access.caller.role_holder  # whose grants decide it (the change hub files it so)

    @property
    def caller(self) -> Caller:
        return self._access.caller

    def regranted(self, access: Access) -> tuple[Hashable, "Visibility"]:
        """The key and visibility of the same filter for `access`: the caller's as their grants are now."""
        return visibility_key(access, self._filter), Visibility(access, self._filter)

    def sees(self, document: Document | None, at: datetime) -> bool:
        """Whether this subscriber may read `document` and it matches the filter, at `at`."""
        return document is not None and self._matcher_at(at)(document)

    def _matcher_at(self, at: datetime) -> Callable[[Document], bool]:
        if self._matches is None or self._decided_at is None or abs(at - self._decided_at) > RESTRICTION_LIFETIME:
            self._matches = matcher(compile_read_query(self._filter, self._access.read_restriction(at)))
            self._decided_at = at
        return self._matches
