"""Reading documents from files: every document that can be read is, whatever breaks beside it,
and every text that is no document is reported with its file and line."""

import json
import time
from pathlib import Path

import pytest

from app.loading import MAX_NESTING, read_documents
from tests.factories import make_instance


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


DEEP = "[" * 100_000 + "]" * 100_000  # far deeper than the parser's recursion allows
NESTED_TOO_DEEPLY = {
    # where the deep value is: (the file, its lines, the lines of the documents read, the lines of the errors)
    "a single document": ("instance.json", ['{"n": ' + DEEP + "}"], [], [1]),
    "an array element": ("instances.json", ['[{"n": 1},', DEEP + ",", '{"n": 3}]'], [1, 3], [2]),
    "an NDJSON line": ("instances.ndjson", ['{"n": 1}', DEEP, '{"n": 3}'], [1, 3], [2]),
    "the first line of NDJSON": ("instances.json", ['{"n": ' + DEEP + "}", '{"n": 2}'], [2], [1]),
}


@pytest.mark.parametrize(("name", "lines", "read", "reported"), NESTED_TOO_DEEPLY.values(), ids=NESTED_TOO_DEEPLY)
def test_a_value_nested_too_deeply_costs_itself_alone(tmp_path, name, lines, read, reported):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")

    documents, errors = _read(path)

    assert documents == {n: {"n": n} for n in read}
    assert errors == dict.fromkeys(reported, "nested too deeply")


# JSON strings may hold U+2028, U+2029 and U+0085 unescaped (json.dumps(ensure_ascii=False) writes
# them so), and JSON's white space a lone carriage return, at which editors start no line.
NO_LINE_BREAKS = {
    "LS": '{"n": 1, "text": "a\u2028b"}',
    "PS": '{"n": 1, "text": "a\u2029b"}',
    "NEL": '{"n": 1, "text": "a\u0085b"}',
    "CR": '{"n": 1,\r"text": "ab"}',
}


@pytest.mark.parametrize("name", ["instances.ndjson", "instances.json"])
@pytest.mark.parametrize("line", NO_LINE_BREAKS.values(), ids=NO_LINE_BREAKS)
def test_ndjson_lines_end_at_newlines_alone(tmp_path, name, line):
    path = tmp_path / name
    path.write_text(_lines(line, "{broken", line.replace('"n": 1', '"n": 3')), newline="")

    documents, errors = _read(path)

    assert documents == {1: json.loads(line), 3: {**json.loads(line), "n": 3}}
    assert list(errors) == [2]


def test_ndjson_lines_may_end_in_a_carriage_return_and_a_newline(tmp_path):
    path = tmp_path / "instances.ndjson"
    path.write_bytes(b'{"n": 1}\r\n{broken\r\n{"n": 3}\r\n')

    documents, errors = _read(path)

    assert documents == {1: {"n": 1}, 3: {"n": 3}}
    assert list(errors) == [2]


@pytest.mark.parametrize("name", ["instances.ndjson", "instances.jsonl"])
def test_a_file_named_as_ndjson_is_read_by_line_even_when_it_starts_with_an_array(tmp_path, name):
    path = tmp_path / name
    path.write_text('[1, 2]\n{"n": 2}\n')

    documents, errors = _read(path)

    assert documents == {1: [1, 2], 2: {"n": 2}}
    assert errors == {}


def test_a_file_named_as_ndjson_that_is_one_json_array_is_read_as_one(tmp_path):
    path = tmp_path / "instances.ndjson"
    path.write_text(json.dumps([{"n": 1}, {"n": 2}], indent=2))

    documents, errors = _read(path)

    assert documents == {2: {"n": 1}, 5: {"n": 2}}
    assert errors == {}


def test_a_large_pretty_printed_array_is_read_in_linear_time(tmp_path):
    # Line numbers once came from counting the newlines before each element: 20,000 documents
    # (17 MB) took a minute. Measured in this thread's CPU time, so a busy machine does not count.
    elements = [make_instance() for _ in range(10_000)]
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(elements, indent=2))
    lines_per_element = json.dumps(elements[0], indent=2).count("\n") + 1

    started = time.thread_time()
    documents, errors = _read(path)
    elapsed = time.thread_time() - started

    assert errors == {}
    assert list(documents)[-1] == 2 + (len(elements) - 1) * lines_per_element
    assert elapsed < 5, f"{elapsed:.1f} s of CPU time"


@pytest.mark.parametrize("levels", [MAX_NESTING, MAX_NESTING + 1, 600])
def test_a_document_nested_deeper_than_mongodb_stores_is_an_error_of_its_own(tmp_path, levels):
    # 600 levels the parser reads, but copying or encoding the document would exhaust the recursion.
    deep = {"n": 2, "deep": json.loads("[" * (levels - 1) + "]" * (levels - 1))}
    path = tmp_path / "instances.ndjson"
    path.write_text(_lines({"n": 1}, deep, {"n": 3}))

    documents, errors = _read(path)

    if levels <= MAX_NESTING:
        assert (documents, errors) == ({1: {"n": 1}, 2: deep, 3: {"n": 3}}, {})
    else:
        assert (documents, errors) == ({1: {"n": 1}, 3: {"n": 3}}, {2: f"nested more than {MAX_NESTING} levels deep"})


def test_pretty_printed_documents_one_after_another_are_each_read(tmp_path):
    documents = [{"n": n, "owner": {"partyId": "1"}, "data": [{"id": "a"}]} for n in range(3)]
    texts = [json.dumps(d, indent=2) for d in documents]
    texts[1] = texts[1].replace('"partyId"', "partyId")
    path = tmp_path / "instances.json"
    path.write_text("\n".join(texts) + "\n")
    first_lines = [1 + sum(t.count("\n") + 1 for t in texts[:i]) for i in range(3)]

    read, errors = _read(path)

    assert read == {first_lines[0]: documents[0], first_lines[2]: documents[2]}
    assert list(errors) == [first_lines[1] + texts[1].splitlines().index('    partyId: "1"')]


def test_a_document_followed_by_text_that_is_none_is_read(tmp_path):
    path = tmp_path / "instance.json"
    path.write_text('{"n": 1} oops\n')

    assert _read(path) == ({1: {"n": 1}}, {1: "Expecting value"})
