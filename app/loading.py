"""Reading documents from files: a JSON object, a JSON array, NDJSON, or a folder of .json
files. Every document comes with where it was found, and so does every piece of text that is
no document: one that cannot be read costs itself alone, never the documents after it."""

import bisect
import contextlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.store.extended_json import UnreadableValue, decode_object

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
# MongoDB stores no document nested deeper; deeper ones would also exhaust the recursion of
# those who copy or encode them before it could say so.
MAX_NESTING = 100

# Extended JSON's typed values (an export's dates, int64s, ...) read as their types.
_DECODER = json.JSONDecoder(object_hook=decode_object)
# What follows a string's closing quote in JSON, on the same line.
_AFTER_STRING = re.compile(r"[ \t\r]*(?:[:,}\]]|\n|$)")


@dataclass(frozen=True)
class Located:
    source: str  # "file:line", or the file alone when it cannot be read at all
    document: Any = None
    error: str | None = None  # why the text here is no document; `document` is then None


class _LineNumbers:
    """The line of any offset in a text, found in the text's newlines, which are listed once:
    counting them from the start for each element made reading a large array quadratic."""

    def __init__(self, text: str) -> None:
        self._last = len(text) - 1
        self._newlines = [match.start() for match in re.finditer("\n", text)]

    def of(self, offset: int) -> int:
        # An error at the end of the text is on its last line, not after the newline that ends it.
        return bisect.bisect_left(self._newlines, min(offset, self._last)) + 1


@contextlib.contextmanager
def _undecodable_at(text: str, offset: int) -> Iterator[None]:
    """A value nested deeper than the parser can recurse, or one that holds an Extended JSON
    value it cannot be, is an error of the value at `offset`."""
    try:
        yield
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, offset) from None
    except UnreadableValue as error:
        raise json.JSONDecodeError(str(error), text, offset) from None


def _decoded(text: str) -> Any:
    with _undecodable_at(text, _skip_space(text, 0)):
        return _DECODER.decode(text)


def _nested_too_deeply(document: Any) -> bool:
    """Whether objects and arrays nest more than MAX_NESTING levels, the document the first."""
    level = [document] if isinstance(document, dict | list) else []
    for _ in range(MAX_NESTING):
        if not level:
            return False
        level = [
            inner
            for outer in level
            for inner in (outer.values() if isinstance(outer, dict) else outer)
            if isinstance(inner, dict | list)
        ]
    return bool(level)


def _split_lines(text: str) -> list[str]:
    # At newlines alone: JSON strings may hold U+2028, U+2029 and U+0085 unescaped, which
    # str.splitlines() also ends lines at, and editors start no line at a lone carriage return.
    return text.split("\n")


def _skip_space(text: str, offset: int) -> int:
    while offset < len(text) and text[offset] in " \t\r\n":
        offset += 1
    return offset


def _element_end(text: str, offset: int) -> int:
    """Where the array element at `offset`, which is not valid JSON, ends: at the next ',' or
    ']' outside its strings and brackets, or at the end of the text. So that a missing quote
    or bracket costs this element alone, a quote closes a string only where JSON could go on
    after one, a line's end closes it too (JSON strings hold no raw newlines), and a closing
    bracket closes those left open inside it."""
    closers: list[str] = []
    in_string = escaped = False
    for index in range(offset, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "\n" or (char == '"' and _AFTER_STRING.match(text, index + 1)):
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            closers.append("]" if char == "[" else "}")
        elif char in closers:
            while closers.pop() != char:
                pass
        elif char == "]" or (char == "," and not closers):
            return index  # a ']' that closes nothing inside the element is the array's
    return len(text)


def _json_array(text: str, path: Path, start: int) -> Iterator[Located]:
    lines = _LineNumbers(text)

    def at(offset: int) -> str:
        return f"{path}:{lines.of(offset)}"

    offset, separator_missing = start + 1, False
    while True:
        offset = _skip_space(text, offset)
        if offset == len(text):
            yield Located(at(offset), error="the array is not closed: ']' is missing")
            return
        if text[offset] == "]":
            end = _skip_space(text, offset + 1)
            if end < len(text):
                yield Located(at(end), error="text after the array's closing ']'")
            return
        try:
            with _undecodable_at(text, offset):
                document, end = _DECODER.raw_decode(text, offset)
            yield Located(at(offset), document)
        except json.JSONDecodeError as error:
            if not separator_missing:  # else that error already points here
                yield Located(at(error.pos), error=error.msg)
            end = _element_end(text, offset)
        offset = _skip_space(text, end)
        separator_missing = offset < len(text) and text[offset] not in ",]"
        if separator_missing:
            # Most often a comma left out between two documents: read on from here.
            yield Located(at(offset), error="expected ',' or ']'")
        elif text.startswith(",", offset):
            offset += 1


def _ndjson(text: str, path: Path) -> Iterator[Located]:
    for number, line in enumerate(_split_lines(text), start=1):
        if line.strip():
            try:
                yield Located(f"{path}:{number}", _decoded(line))
            except json.JSONDecodeError as error:
                yield Located(f"{path}:{number}", error=error.msg)


def _one_after_another(text: str, path: Path, start: int) -> Iterator[Located]:
    """JSON values one after another, as pretty-printed documents concatenated are. After a
    broken one, reading goes on at the next line that opens an object at its first character:
    a pretty-printed document indents its nested objects, so that line starts the next one."""
    lines = _LineNumbers(text)
    offset = start
    while offset < len(text):
        try:
            with _undecodable_at(text, offset):
                document, end = _DECODER.raw_decode(text, offset)
            yield Located(f"{path}:{lines.of(offset)}", document)
        except json.JSONDecodeError as error:
            yield Located(f"{path}:{lines.of(error.pos)}", error=error.msg)
            next_object = text.find("\n{", offset)
            end = len(text) if next_object < 0 else next_object + 1
        offset = _skip_space(text, end)


def _is_object(line: str) -> bool:
    try:
        return isinstance(_decoded(line), dict)
    except json.JSONDecodeError:
        return False


def _looks_like_ndjson(text: str) -> bool:
    """A file that is not one JSON document, whatever its name, is NDJSON when a line is a whole
    object from its first character; otherwise it holds pretty-printed documents, one or more. (A
    pretty-printed document indents its nested objects, so none of its lines is one.)"""
    return any(line.startswith("{") and _is_object(line) for line in _split_lines(text))


def _read_file(path: Path) -> Iterator[Located]:
    try:
        # Not read_text(): its universal newlines would end lines at a lone carriage return too.
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        yield Located(str(path), error=str(error))
        return
    start = _skip_space(text, 0)
    if start == len(text):
        return  # an empty file holds no documents
    named_ndjson = path.suffix.lower() in NDJSON_SUFFIXES
    if text.startswith("[", start) and not named_ndjson:
        yield from _json_array(text, path, start)
        return
    try:
        document = _decoded(text)
    except json.JSONDecodeError:
        if named_ndjson or _looks_like_ndjson(text):
            yield from _ndjson(text, path)
        else:
            yield from _one_after_another(text, path, start)
        return
    if named_ndjson and isinstance(document, list):
        # One JSON array, named as NDJSON: its elements, each at its own line.
        yield from _json_array(text, path, start)
    else:
        yield Located(f"{path}:{_LineNumbers(text).of(start)}", document)


def read_documents(paths: Iterable[str | Path]) -> Iterator[Located]:
    """Every document in these files and folders (a folder: its .json files, sorted), and
    every text among them that is no document, each with where it is."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(path.rglob("*.json"))
        elif path.is_file():
            files = [path]
        else:
            yield Located(str(path), error="no such file or folder")
            continue
        for file in files:
            for located in _read_file(file):
                if located.error is None and _nested_too_deeply(located.document):
                    located = Located(located.source, error=f"nested more than {MAX_NESTING} levels deep")
                yield located
