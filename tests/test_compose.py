"""docker-compose.yml cannot run here (no Docker engine), so what holds it together is checked
as data: MongoDB runs as a single-node replica set that initiates itself, and the gateway's
URL names that set and its member."""

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

COMPOSE = yaml.safe_load((Path(__file__).parent.parent / "docker-compose.yml").read_text())
MONGO = COMPOSE["services"]["mongo"]
GATEWAY = COMPOSE["services"]["gateway"]


def _replica_set_name() -> str:
    command = MONGO["command"]
    return command[command.index("--replSet") + 1]


def test_mongodb_runs_as_a_replica_set_and_initiates_it_in_its_health_check():
    name = _replica_set_name()
    check = " ".join(MONGO["healthcheck"]["test"])
    assert f"rs.initiate({{_id: '{name}', members: [{{_id: 0, host: 'mongo:27017'}}]}})" in check
    assert "isWritablePrimary" in check, "healthy only once the member is primary"


def test_the_gateway_url_names_the_set_and_waits_for_its_primary():
    url = urlsplit(GATEWAY["environment"]["GATEWAY_MONGODB_URL"])
    assert url.netloc == "mongo:27017"
    assert parse_qs(url.query) == {"replicaSet": [_replica_set_name()]}
    assert GATEWAY["depends_on"]["mongo"]["condition"] == "service_healthy"


def test_the_signing_secret_is_required_and_never_defaulted():
    assert GATEWAY["environment"]["GATEWAY_JWT_SECRET"].startswith("${GATEWAY_JWT_SECRET:?")
