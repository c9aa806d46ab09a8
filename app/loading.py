"""Reading documents from files: a JSON object, a JSON array, NDJSON, or a folder of .json
files. Every document comes with where it was found, so errors can point at it."""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Located:
    source: str  # "file:line"
    document: Any


class UnreadableFile(ValueError):
    pass


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _skip_space(text: str, offset: int) -> int:
    while offset < len(text) and text[offset] in " \t\r\n":
        offset += 1
    return offset


def _json_array(text: str, path: Path, start: int) -> Iterator[Located]:
    decoder = json.JSONDecoder()
    offset = _skip_space(text, start + 1)
    if offset < len(text) and text[offset] == "]":
        return
    while True:
        try:
            item, end = decoder.raw_decode(text, offset)
        except json.JSONDecodeError as error:
            raise UnreadableFile(f"{path}:{_line_of(text, error.pos)}: {error.msg}") from None
        yield Located(f"{path}:{_line_of(text, offset)}", item)
        offset = _skip_space(text, end)
        if offset < len(text) and text[offset] == ",":
            offset = _skip_space(text, offset + 1)
        elif offset < len(text) and text[offset] == "]":
            return
        else:
            raise UnreadableFile(f"{path}:{_line_of(text, offset)}: expected ',' or ']'")


def _read_file(path: Path) -> Iterator[Located]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise UnreadableFile(f"{path}: {error}") from None
    start = _skip_space(text, 0)
    if start < len(text) and text[start] == "[":
        yield from _json_array(text, path, start)
        return
    try:
        yield Located(f"{path}:{_line_of(text, start)}", json.loads(text))
        return
    except json.JSONDecodeError:
        pass  # not one document: read it as NDJSON, one per line
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield Located(f"{path}:{number}", json.loads(line))
            except json.JSONDecodeError as error:
                raise UnreadableFile(f"{path}:{number}: {error.msg}") from None


def read_documents(paths: Iterable[str | Path]) -> Iterator[Located]:
    """Every document in these files and folders (a folder: its .json files, sorted)."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for file in sorted(path.rglob("*.json")):
                yield from _read_file(file)
        elif path.is_file():
            yield from _read_file(path)
        else:
            raise UnreadableFile(f"{path}: no such file or folder")
