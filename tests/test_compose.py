"""docker-compose.yml cannot run here (no Docker engine), so what holds it together is checked
as data: MongoDB runs as a single-node replica set with authentication that initiates itself,
its key file is made once with the permissions mongod demands, the gateway connects as a user
whose role names exactly the actions of the calls app/store makes, and every GATEWAY_* setting
of .env reaches the gateway, MongoDB's root password never."""

import ast
import re
import stat
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.asynchronous.mongo_client import AsyncMongoClient

from app.config import Settings

REPO = Path(__file__).parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
MONGO = COMPOSE["services"]["mongo"]
KEYFILE = COMPOSE["services"]["mongo-keyfile"]
GATEWAY = COMPOSE["services"]["gateway"]


def _env_example() -> dict[str, str]:
    lines = (REPO / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


# .env.example with its secrets filled in, as a user's .env would be.
ENV = {name: value or f"secret-{name.lower()}" for name, value in _env_example().items()}


def _interpolated(value: str, env: dict[str, str] = ENV) -> str:
    """`value` as compose reads it with `env` as .env: ${NAME:-default}, ${NAME:?error}, $$."""

    def one(match: re.Match[str]) -> str:
        name, operator, word = match.groups()
        if env.get(name):
            return env[name]
        assert operator == ":-", f"compose refuses to start without {name}: {word}"
        return word

    return re.sub(r"\$\{(\w+)(:[-?])([^}]*)\}", one, value).replace("$$", "$")


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_mongodb_runs_as_a_replica_set_and_initiates_it_in_its_health_check():
    name = _option(MONGO["command"], "--replSet")
    check = " ".join(MONGO["healthcheck"]["test"])
    assert f"rs.initiate({{_id: '{name}', members: [{{_id: 0, host: 'mongo:27017'}}]}})" in check
    assert "isWritablePrimary" in check, "healthy only once the member is primary"
    assert '-u "$$MONGO_INITDB_ROOT_USERNAME" -p "$$MONGO_INITDB_ROOT_PASSWORD"' in check, "as root"


def test_mongodb_has_a_root_user_from_env_and_a_key_file_for_the_set():
    environment = MONGO["environment"]
    assert _interpolated(environment["MONGO_INITDB_ROOT_USERNAME"]) == ENV["MONGO_ROOT_USERNAME"]
    assert _interpolated(environment["MONGO_INITDB_ROOT_PASSWORD"]) == ENV["MONGO_ROOT_PASSWORD"]
    assert environment["MONGO_INITDB_ROOT_PASSWORD"].startswith("${MONGO_ROOT_PASSWORD:?"), "never defaulted"
    key = Path(_option(MONGO["command"], "--keyFile"))
    assert f"mongo-keyfile:{key.parent}:ro" in MONGO["volumes"]
    assert "mongo-keyfile:/keyfile" in KEYFILE["volumes"]
    assert MONGO["depends_on"]["mongo-keyfile"]["condition"] == "service_completed_successfully"


def test_the_key_file_is_made_once_readable_by_mongodb_alone(tmp_path):
    """The init container's script, run here on a folder of its own: a chown that only
    records its arguments stands in for the root the container has."""
    bin_dir, keys = tmp_path / "bin", tmp_path / "keyfile"
    bin_dir.mkdir(), keys.mkdir()
    (bin_dir / "chown").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/chowned\n')
    (bin_dir / "chown").chmod(0o755)
    script = KEYFILE["command"][0].replace("/keyfile/", f"{keys}/")
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    assert KEYFILE["entrypoint"] == ["sh", "-c"]
    subprocess.run(["sh", "-c", script], env=environment, check=True)
    key = (keys / "key").read_text()
    subprocess.run(["sh", "-c", script], env=environment, check=True)
    assert (keys / "key").read_text() == key, "later starts keep the key"
    assert re.fullmatch(r"[A-Za-z0-9+/=]{6,1024}", key), "mongod's key: 6 to 1024 base64 characters"
    assert stat.S_IMODE((keys / "key").stat().st_mode) == 0o400
    assert (tmp_path / "chowned").read_text().splitlines() == [f"999:999 {keys}/key"] * 2
    assert [path.name for path in keys.iterdir()] == ["key"]


def test_the_gateway_connects_as_its_own_user_to_the_set_and_waits_for_its_primary():
    url = urlsplit(_interpolated(GATEWAY["environment"]["GATEWAY_MONGODB_URL"]))
    assert (url.username, unquote(url.password or "")) == ("gateway", ENV["MONGO_GATEWAY_PASSWORD"])
    assert (url.hostname, url.port) == ("mongo", 27017)
    database = _interpolated(MONGO["environment"]["MONGO_GATEWAY_DATABASE"])
    assert database == Settings(_env_file=None).mongodb_database
    assert parse_qs(url.query) == {"replicaSet": [_option(MONGO["command"], "--replSet")], "authSource": [database]}
    assert GATEWAY["depends_on"]["mongo"]["condition"] == "service_healthy"
    script = (REPO / "compose" / "gateway-user.js").read_text()
    assert "./compose/gateway-user.js:/docker-entrypoint-initdb.d/gateway-user.js:ro" in MONGO["volumes"]
    assert 'user: "gateway"' in script and "pwd: process.env.MONGO_GATEWAY_PASSWORD" in script
    assert _interpolated(MONGO["environment"]["MONGO_GATEWAY_PASSWORD"]) == ENV["MONGO_GATEWAY_PASSWORD"]


# What each driver call of app/store asks MongoDB to do, as privilege actions. An upsert inserts.
DRIVER_CALL_ACTIONS = {
    "find": {"find"},
    "find_one": {"find"},
    "find_raw_batches": {"find"},
    "count_documents": {"find"},
    "estimated_document_count": {"find"},
    "distinct": {"find"},
    "aggregate": {"find"},
    "insert_many": {"insert"},
    "replace_one": {"update", "insert"},
    "update_one": {"update", "insert"},
    "find_one_and_update": {"find", "update", "insert"},
    "bulk_write": {"insert", "update", "remove"},
    "delete_one": {"remove"},
    "delete_many": {"remove"},
    "create_index": {"createIndex"},
    "drop_indexes": {"dropIndex"},
    "drop_index": {"dropIndex"},
    "index_information": {"listIndexes"},
    "watch": {"changeStream", "find"},
    "close": set(),
}
# explain asks for the privileges of the command it explains: the reads' find.
COMMAND_ACTIONS = {"ping": set(), "collMod": {"collMod"}, "explain": {"find"}}
# The first createIndex on a fresh database creates its collections.
ACTIONS_BESIDE_CALLS = {"createCollection"}
DRIVER_METHODS = {
    name
    for driver_class in (AsyncCollection, AsyncDatabase, AsyncMongoClient)
    for name in dir(driver_class)
    if not name.startswith("_") and callable(getattr(driver_class, name))
}


def _store_calls() -> tuple[set[str], set[str]]:
    """The driver methods app/store calls, and the names of the commands it runs."""
    methods, commands = set(), set()
    for path in (REPO / "app" / "store").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr == "command":
                command = node.args[0]
                name = command.keys[0] if isinstance(command, ast.Dict) else command
                assert isinstance(name, ast.Constant), f"{path.name}:{node.lineno}: a command named in the code"
                commands.add(name.value)
            elif node.func.attr in DRIVER_METHODS:
                methods.add(node.func.attr)
    return methods, commands


def test_the_gateways_role_names_exactly_the_actions_of_the_calls_the_store_makes():
    methods, commands = _store_calls()
    assert {"find", "watch", "create_index"} <= methods and "collMod" in commands, "the calls are found"
    assert methods <= DRIVER_CALL_ACTIONS.keys(), "a new driver call: name its actions above"
    assert commands <= COMMAND_ACTIONS.keys(), "a new command: name its actions above"
    needed = ACTIONS_BESIDE_CALLS.union(
        *(DRIVER_CALL_ACTIONS[m] for m in methods), *(COMMAND_ACTIONS[c] for c in commands)
    )
    script = (REPO / "compose" / "gateway-user.js").read_text()
    actions = re.search(r"actions: (\[[^\]]*\])", script)
    assert actions is not None
    assert set(yaml.safe_load(actions[1])) == needed
    assert 'resource: { db: database.getName(), collection: "" }' in script, "the gateway's database alone"
    assert "roles: []" in script, "no built-in role beside it"


def test_every_gateway_setting_of_env_reaches_the_gateway_and_the_root_password_never():
    assert GATEWAY["env_file"] == ".env"
    environment = GATEWAY["environment"]
    for name in ENV:
        if not name.startswith("GATEWAY_") and name != "MONGO_GATEWAY_PASSWORD":
            assert environment.get(name) == "", f"{name} is MongoDB's, not the gateway's"
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()


def test_the_signing_secret_is_required_and_never_defaulted():
    assert GATEWAY["environment"]["GATEWAY_JWT_SECRET"].startswith("${GATEWAY_JWT_SECRET:?")


def test_the_gateway_runs_a_worker_a_core_and_gets_time_to_stop_gracefully():
    assert _interpolated(GATEWAY["environment"]["GATEWAY_WORKERS"]) == ENV["GATEWAY_WORKERS"] == "2"
    assert _interpolated(GATEWAY["environment"]["GATEWAY_WORKERS"], env={}) == "2"
    assert "ENV GATEWAY_WORKERS=" in (REPO / "Dockerfile").read_text()
    grace = int(GATEWAY["stop_grace_period"].removesuffix("s"))
    assert grace > Settings(_env_file=None).shutdown_timeout_s, "requests in flight finish before a kill"
