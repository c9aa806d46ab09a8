"""Reading documents from files: every document that can be read is, whatever breaks beside it,
and every text that is no document is reported with its file and line."""

import json
from pathlib import Path

import pytest

from app.loading import read_documents


def _read(path: Path) -> tuple[dict[int, object], dict[int, str]]:
    """The documents by line, and the errors by line, of one file."""
    documents, errors = {}, {}
    for located in read_documents([path]):
        line = int(located.source.rpartition(":")[2])
        if located.error is None:
            documents[line] = located.document
        else:
            errors[line] = located.error
    return documents, errors


def _lines(*documents: object) -> str:
    return "".join((d if isinstance(d, str) else json.dumps(d)) + "\n" for d in documents)


@pytest.mark.parametrize("name", ["instances.ndjson", "instances.json", "instances.jsonl"])
@pytest.mark.parametrize("broken", [1, 2, 5])
def test_ndjson_reads_every_line_but_the_broken_one(tmp_path, name, broken):
    lines = [{"n": n} for n in range(1, 6)]
    lines[broken - 1] = "{broken"
    path = tmp_path / name
    path.write_text(_lines(*lines))

    documents, errors = _read(path)

    assert documents == {n: {"n": n} for n in range(1, 6) if n != broken}
    assert errors == {broken: "Expecting property name enclosed in double quotes"}


ARRAYS = {
    # what breaks: (the array's lines, the lines of the documents read, the lines of the errors)
    "a syntax error": (['[{"n": 1},', '{"n": 2, oops},', '{"n": 3}]'], [1, 3], [2]),
    "a missing comma": (['[{"n": 1}', '{"n": 2},', '{"n": 3}]'], [1, 2, 3], [2]),
    "an unclosed bracket": (['[{"n": 1},', '{"n": 2, "a": [1, 2},', '{"n": 3}]'], [1, 3], [2]),
    "an unclosed string": (['[{"n": 1},', '{"n": "2, "a": 1},', '{"n": 3}]'], [1, 3], [2]),
    "a stray brace": (['[{"n": 1}},', '{"n": 2},', '{"n": 3}]'], [1, 2, 3], [1]),
    "the end": (['[{"n": 1},', '{"n": 2},', '{"n": 3'], [1, 2], [3]),
    "text after it": (['[{"n": 1},', '{"n": 2},', '{"n": 3}]', "]"], [1, 2, 3], [4]),
}


@pytest.mark.parametrize(("lines", "read", "reported"), ARRAYS.values(), ids=ARRAYS.keys())
def test_a_json_array_reads_every_element_but_the_broken_one(tmp_path, lines, read, reported):
    path = tmp_path / "instances.json"
    path.write_text("\n".join(lines) + "\n")

    documents, errors = _read(path)

    assert [document["n"] for document in documents.values()] == read
    assert list(documents) == read  # each at its own line
    assert sorted(errors) == reported


def test_a_pretty_printed_array_points_at_the_broken_line(tmp_path):
    elements = [{"n": n, "owner": {"partyId": "1"}, "data": [{"id": "a"}]} for n in range(3)]
    lines = json.dumps(elements, indent=2).splitlines()
    broken = [i for i, line in enumerate(lines) if '"partyId"' in line][1]
    lines[broken] = lines[broken].replace('"partyId"', "partyId")
    path = tmp_path / "instances.json"
    path.write_text("\n".join(lines))

    documents, errors = _read(path)

    assert [document["n"] for document in documents.values()] == [0, 2]
    assert list(errors) == [broken + 1]


def test_a_broken_document_alone_is_one_error_at_its_line(tmp_path):
    text = json.dumps({"id": "x", "owner": {"partyId": "1"}, "data": [{"id": "a"}]}, indent=2)
    path = tmp_path / "instance.json"
    path.write_text(text.replace('"partyId"', "partyId"))

    documents, errors = _read(path)

    assert documents == {}
    assert list(errors) == [text.splitlines().index('    "partyId": "1"') + 1]


def test_a_folder_reads_every_file_past_one_that_cannot_be_read(tmp_path):
    (tmp_path / "a.json").write_text(_lines({"n": 1}))
    (tmp_path / "b.json").write_bytes(b'{"n": "\xff"}')
    (tmp_path / "c.json").write_text(_lines({"n": 3}, "{broken", {"n": 5}))
    (tmp_path / "d.json").write_text("\n")

    located = list(read_documents([tmp_path, tmp_path / "missing.json"]))

    assert [(Path(x.source).name, x.document) for x in located if x.error is None] == [
        ("a.json:1", {"n": 1}),
        ("c.json:1", {"n": 3}),
        ("c.json:3", {"n": 5}),
    ]
    assert [(Path(x.source).name, x.error.split(":")[0]) for x in located if x.error is not None] == [
        ("b.json", "'utf-8' codec can't decode byte 0xff in position 7"),
        ("c.json:2", "Expecting property name enclosed in double quotes"),
        ("missing.json", "no such file or folder"),
    ]
