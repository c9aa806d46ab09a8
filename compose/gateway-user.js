// Run once, on MongoDB's first start (the image runs /docker-entrypoint-initdb.d/ before it
// enables authentication and the replica set): the gateway's own user, with a role that names
// the actions the gateway needs and nothing more. tests/test_compose.py derives those actions
// from the calls app/store makes and compares them with this list.
const database = db.getSiblingDB(process.env.MONGO_GATEWAY_DATABASE);
database.createRole({
  role: "instanceGateway",
  privileges: [
    {
      // Every collection of the gateway's database: instances, instanceEvents, partyRoles.
      resource: { db: database.getName(), collection: "" },
      actions: [
        "find",
        "insert",
        "update",
        "remove",
        "createCollection",
        "createIndex",
        "dropIndex",
        "listIndexes",
        "collMod",
        "changeStream"
      ]
    }
  ],
  roles: []
});
database.createUser({
  user: "gateway",
  pwd: process.env.MONGO_GATEWAY_PASSWORD,
  roles: [{ role: "instanceGateway", db: database.getName() }]
});
