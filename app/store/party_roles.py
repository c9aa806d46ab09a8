"""Which roles a user holds for which parties (the partyRoles collection)."""

from app.store.database import Database, driver_errors, to_list


class PartyRoles:
    def __init__(self, database: Database) -> None:
        self._grants = database.party_roles

    async def roles_of(self, user_id: str) -> dict[str, frozenset[str]]:
        """Role codes by party id for this user (upper-cased; Altinn matches them ignoring case)."""
        with driver_errors():
            grants = await to_list(self._grants.find({"userId": user_id}, {"_id": 0, "partyId": 1, "roles": 1}))
        return {str(g["partyId"]): frozenset(str(r).upper() for r in g.get("roles") or []) for g in grants}
