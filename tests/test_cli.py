"""The `instance-gateway` command, run as a user runs it."""

import argparse
import json
import subprocess
import sys

import pytest

from app.authorization.identity import TokenVerifier
from app.authorization.tokens import DEVELOPMENT_SECRET
from app.cli import _parser, main
from tests.factories import make_instance


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=environment, timeout=60
    )


def test_token_mints_a_verifiable_development_token():
    result = _run("token", "--user", "1", "--party", "1337", "--authlevel", "2")
    assert result.returncode == 0, result.stderr
    caller = TokenVerifier(hs256_secret=DEVELOPMENT_SECRET).verify(result.stdout.strip())
    assert (caller.user_id, caller.party_id, caller.auth_level) == ("1", "1337", 2)


def test_token_uses_the_configured_secret():
    secret = "a-configured-secret-of-at-least-32-bytes!"
    result = _run("token", "--org", "ttd", "--org-number", "991825827", env={"GATEWAY_JWT_SECRET": secret})
    caller = TokenVerifier(hs256_secret=secret).verify(result.stdout.strip())
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
    ],
)
def test_refusals_say_what_to_do(args, env, message):
    result = _run(*args, env=env)
    assert result.returncode == 2
    assert message in result.stderr


def test_serve_refuses_to_start_on_invalid_documents(tmp_path):
    path = tmp_path / "bad.ndjson"
    path.write_text(json.dumps(make_instance()) + "\n" + json.dumps({"id": "x", "appId": "ttd/a"}) + "\n")
    result = _run("serve", "--load", str(path))
    assert result.returncode == 1
    assert f"{path}:2: instanceOwner.partyId is required" in result.stderr


def test_export_schema_prints_the_sdl(capsys):
    assert main(["export-schema"]) == 0
    assert "type Query" in capsys.readouterr().out


def _commands() -> argparse._SubParsersAction:
    (commands,) = (a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return commands


def test_every_command_has_a_summary():
    assert [a.dest for a in _commands()._choices_actions if not a.help] == []


@pytest.mark.parametrize("command", [None, *_commands().choices], ids=lambda c: c or "instance-gateway")
def test_every_command_explains_each_of_its_arguments(command, capsys):
    parser = _commands().choices[command] if command else _parser()
    undescribed = [a.dest for a in parser._actions if not isinstance(a, argparse._HelpAction) and not a.help]
    assert undescribed == []
    with pytest.raises(SystemExit) as exit:
        main([command, "--help"] if command else ["--help"])
    assert exit.value.code == 0
    assert "usage: instance-gateway" in capsys.readouterr().out
