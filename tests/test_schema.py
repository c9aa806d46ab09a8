import contextlib
import io
from pathlib import Path

from app.cli import main

SCHEMA_FILE = Path(__file__).parent.parent / "schema.graphql"


def test_committed_schema_is_the_exported_schema():
    exported = io.StringIO()
    with contextlib.redirect_stdout(exported):
        assert main(["export-schema"]) == 0
    assert SCHEMA_FILE.read_text() == exported.getvalue(), "run `make schema` and commit schema.graphql"


def test_schema_has_the_contract_names():
    sdl = SCHEMA_FILE.read_text()
    for name in (
        "instance(id: ID!): Instance",
        "totalCount: Int!",
        "enum InstanceSortField",
        "enum ReadStatus",
        "UPDATED_SINCE_LAST_REVIEW",
        "enum FileScanResult",
        "messageBoxLabel: String",
        "excludeConfirmedBy: String",
    ):
        assert name in sdl
