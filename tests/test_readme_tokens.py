"""The README's token commands run as written, and each token reads the demo data as the README
says: its kinds of caller and the scope rules beside them."""

import json
import os
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from tests.conftest import TEST_SECRET

README = Path(__file__).parent.parent / "README.md"
DEMO = files("app") / "demo"
COUNT = "{ instances { totalCount } }"


def readme_token_commands() -> str:
    """The README's block of `token` commands, run with this checkout's command."""
    (block,) = [b for b in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.DOTALL) if "--sync-adapter" in b]
    return block.replace(".venv/bin/instance-gateway", str(Path(sys.executable).parent / "instance-gateway"))


async def test_every_token_of_the_readme_reads_the_demo_data_as_it_says(gateway_with, tmp_path):
    environment = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GATEWAY_JWT_SECRET": TEST_SECRET}
    run = subprocess.run(["sh", "-c", readme_token_commands()], env=environment, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    ttd, end_user, skd, ttd_exchanged, system_user, sync_adapter = run.stdout.split()
    instances = json.loads((DEMO / "instances.json").read_text())
    roles = json.loads((DEMO / "party-roles.json").read_text())
    counts = {}
    async with gateway_with(instances, roles) as gw:
        for name, token in [
            ("ttd", ttd),
            ("end user", end_user),
            ("skd", skd),
            ("ttd exchanged", ttd_exchanged),
            ("system user", system_user),
            ("sync adapter", sync_adapter),
        ]:
            counts[name] = (await gw.data(COUNT, token=token))["instances"]["totalCount"]
    listed = [i for i in instances if not (i.get("status") or {}).get("isHardDeleted")]  # lists leave them out
    every, of_ttd = len(listed), sum(i["org"] == "ttd" for i in listed)
    assert counts == {
        "ttd": of_ttd,
        "end user": 3,  # "the second token reads only the three ttd/melding instances of party 500000"
        "skd": every - of_ttd,  # skd's own, as no demo policy lets skd read ttd's
        "ttd exchanged": of_ttd,
        "system user": 0,  # party-roles grants it nothing in the demo
        "sync adapter": every,
    }
