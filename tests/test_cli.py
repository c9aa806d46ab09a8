"""The `instance-gateway` command, run as a user runs it."""

import argparse
import contextlib
import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest

from app.authorization.identity import TokenVerifier
from app.authorization.tokens import DEVELOPMENT_SECRET, mint_token
from app.cli.main import main
from app.cli.main import parser as command_line
from tests.conftest import TEST_SECRET
from tests.factories import make_instance


def _environment(env: dict[str, str] | None) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": "/tmp", **(env or {})}


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=_environment(env), timeout=60
    )


class Served:
    """A running `instance-gateway serve`, its standard output and error read as one."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []

    def read_until(self, text: str) -> str:
        """The first line holding `text`, once it is printed; every line read stays in `lines`."""
        for line in self.process.stdout or ():
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} never came; the output was:\n{''.join(self.lines)}")

    def graphiql_url(self) -> str:
        return re.search(r"GraphiQL at (\S+)", self.read_until("GraphiQL at"))[1]


@contextlib.contextmanager
def _serving(*args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`serve` on a free port; stopped, or killed after a minute should it hang, at the end."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_environment(env),
    )
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        yield Served(process)
    finally:
        watchdog.cancel()
        process.terminate()
        process.communicate(timeout=30)


async def test_token_mints_a_verifiable_development_token():
    result = _run("token", "--user", "1", "--party", "1337", "--authlevel", "2")
    assert result.returncode == 0, result.stderr
    caller = await TokenVerifier(hs256_secret=DEVELOPMENT_SECRET).verify(result.stdout.strip())
    assert (caller.user_id, caller.party_id, caller.auth_level) == ("1", "1337", 2)


async def test_token_uses_the_configured_secret():
    secret = "a-configured-secret-of-at-least-32-bytes!"
    result = _run("token", "--org", "ttd", "--org-number", "991825827", env={"GATEWAY_JWT_SECRET": secret})
    caller = await TokenVerifier(hs256_secret=secret).verify(result.stdout.strip())
    assert (caller.org, caller.org_number) == ("ttd", "991825827")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["token"], {}, "give --org ORG"),
        (["token", "--user", "1"], {}, "party"),
        (["token", "--org", "ttd"], {"GATEWAY_MONGODB_URL": "mongodb://db"}, "set GATEWAY_JWT_SECRET"),
        (["serve", "--demo"], {"GATEWAY_MONGODB_URL": "mongodb://db"}, "use `instance-gateway import`"),
        (["serve"], {"GATEWAY_MONGODB_URL": "mongodb://db"}, "no token key"),
        (["serve"], {"GATEWAY_POLICY_DIR": "/nonexistent"}, "policy folder does not exist"),
        (["import", "x.json"], {}, "set GATEWAY_MONGODB_URL"),
        (["purge"], {}, "set GATEWAY_MONGODB_URL"),
        (["purge", "--dry-run"], {}, "set GATEWAY_MONGODB_URL"),
        (["serve", "--host", "0.0.0.0"], {}, "pass --allow-dev-secret-on-network"),
        (["serve", "--host", "192.0.2.1", "--demo"], {}, "pass --allow-dev-secret-on-network"),
        (["token", "--org", "ttd", "--ttl", "0"], {}, "argument --ttl: '0' is not a positive whole number"),
        (["token", "--org", "ttd", "--authlevel", "5"], {}, "argument --authlevel: '5' is not a level from 0 to 4"),
        (["token", "--org", "ttd", "--party", "1"], {}, "--party goes with --user"),
        (["token", "--user", "1", "--party", "1", "--org-number", "9"], {}, "--org-number goes with --org"),
        (["token", "--user", "1"], {}, "--user needs --party"),
        (["token", "--org", "ttd"], {"GATEWAY_JWT_SECRET": "short"}, "GATEWAY_JWT_SECRET is too short"),
        (["serve"], {"GATEWAY_WORKERS": "0"}, "GATEWAY_WORKERS: Input should be greater than or equal to 1 (got '0')"),
        (
            ["token", "--org", "ttd"],
            {"GATEWAY_MAX_PAGE_SIZE": "many"},
            "GATEWAY_MAX_PAGE_SIZE: Input should be a valid",
        ),
        (
            ["token", "--org", "ttd"],
            {"GATEWAY_OPENID_CONFIGURATION_URL": "user:secret@nowhere"},
            "GATEWAY_OPENID_CONFIGURATION_URL: URL scheme should be 'http' or 'https'\n",  # the secret unsaid
        ),
    ],
)
def test_refusals_say_what_to_do(args, env, message):
    result = _run(*args, env=env)
    assert result.returncode == 2
    assert message in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error: " in line]
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", "\n".join(errors)), "options by their names, not the code's"


def _dev_token() -> str:
    return mint_token(secret=DEVELOPMENT_SECRET, org="ttd", org_number="991825827")


def test_serve_serves_the_valid_documents_and_reports_each_invalid_one_with_its_line(tmp_path):
    documents = [json.dumps(make_instance()) for _ in range(5)]
    documents[1] = "{broken"
    documents[3] = json.dumps({"id": "x", "appId": "ttd/a"})
    path = tmp_path / "instances.json"
    path.write_text("\n".join(documents) + "\n")

    with _serving("--load", str(path)) as served:
        url = served.graphiql_url()
        answer = httpx.post(
            url,
            json={"query": "{ instances { totalCount } }"},
            headers={"Authorization": f"Bearer {_dev_token()}"},
            timeout=30,
        )

    output = "".join(served.lines)
    assert f"error: {path}:2: Expecting property name" in output
    assert f"error: {path}:4: instanceOwner.partyId is required" in output
    assert "2 documents not loaded" in output
    assert "3 instances, 0 role grants loaded" in output
    assert answer.json() == {"data": {"instances": {"totalCount": 3}}}


@pytest.mark.parametrize(
    "how",
    [["--allow-dev-secret-on-network"], {"GATEWAY_JWT_SECRET": TEST_SECRET}],
    ids=["asked-explicitly", "own-secret"],
)
def test_serve_listens_on_the_network_when_told_to_or_with_its_own_secret(how):
    args, env = (how, {}) if isinstance(how, list) else ([], how)
    with _serving("--host", "0.0.0.0", *args, env=env) as served:
        assert served.graphiql_url().startswith("http://0.0.0.0:")


def test_a_port_in_use_fails_before_anything_says_it_serves():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run("serve", "--port", str(port))
    assert result.returncode == 2
    assert f"error: cannot listen on 127.0.0.1 port {port}: Address already in use" in result.stderr
    assert "GraphiQL at" not in result.stdout


UNREACHABLE = {"GATEWAY_MONGODB_URL": "mongodb://gateway:hunter2@127.0.0.1:9/?replicaSet=rs0"}


def test_serve_names_an_unreachable_database_without_its_credentials_and_says_why():
    with _serving(env={**UNREACHABLE, "GATEWAY_JWT_SECRET": TEST_SECRET}) as served:
        line = served.read_until("does not answer")
    assert "the database at mongodb://127.0.0.1:9/?replicaSet=rs0 is unreachable: 127.0.0.1:9: " in line
    assert "hunter2" not in "".join(served.lines)


@pytest.mark.parametrize(
    ("command", "url", "reason"),
    [
        (["serve"], "mongodb://gateway:hunter2@db:99999", "Port must be an integer between 0 and 65535"),
        (
            ["import", "x.json"],
            "mongodb+srv://gateway:hunter2@db.example:27017",
            "mongodb+srv:// URIs must not include a port",
        ),
        (["purge"], "mongodb://gateway:hun:ter2@db", "Username and password must be escaped"),
    ],
)
def test_an_unusable_database_url_is_refused_with_the_reason_and_without_credentials(command, url, reason):
    result = _run(*command, env={"GATEWAY_MONGODB_URL": url, "GATEWAY_JWT_SECRET": TEST_SECRET})
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: GATEWAY_MONGODB_URL is not a usable MongoDB URL: {reason}")
    assert len(result.stderr.splitlines()) == 1, "no traceback"
    assert "hunter2" not in result.stderr and "ter2" not in result.stderr
    assert "GraphiQL at" not in result.stdout


def test_serve_without_policies_warns_that_every_mutation_is_denied():
    with _serving(env={**UNREACHABLE, "GATEWAY_JWT_SECRET": TEST_SECRET}) as served:
        line = served.read_until("no GATEWAY_POLICY_DIR")
    assert "every mutation is denied" in line


def test_export_schema_prints_the_sdl(capsys):
    assert main(["export-schema"]) == 0
    assert "type Query" in capsys.readouterr().out


def _commands() -> argparse._SubParsersAction:
    (commands,) = (a for a in command_line()._actions if isinstance(a, argparse._SubParsersAction))
    return commands


def test_every_command_has_a_summary():
    assert [a.dest for a in _commands()._choices_actions if not a.help] == []


@pytest.mark.parametrize("command", [None, *_commands().choices], ids=lambda c: c or "instance-gateway")
def test_every_command_explains_each_of_its_arguments(command, capsys):
    parser = _commands().choices[command] if command else command_line()
    undescribed = [a.dest for a in parser._actions if not isinstance(a, argparse._HelpAction) and not a.help]
    assert undescribed == []
    with pytest.raises(SystemExit) as exit:
        main([command, "--help"] if command else ["--help"])
    assert exit.value.code == 0
    assert "usage: instance-gateway" in capsys.readouterr().out
