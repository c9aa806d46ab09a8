import strawberry


@strawberry.interface(description="An object with a global id, to fetch it again with `node(id:)` (Relay's refetch).")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's global id.")
