"""Manifests of trusted documents: the operations a frontend shipped, each named by the SHA-256
of its text. Read at start from Apollo's persisted-query manifest
(`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{id, name, type,
body}]}`) or from a flat `{"<sha256>": "<document>"}` map (graphql-codegen's client preset),
every hash checked; and built from `.graphql` files in Apollo's format."""

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSyntaxError,
    Node,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)

from app.http.authentication import ConfigurationError

APOLLO_FORMAT = "apollo-persisted-query-manifest"
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class ManifestError(ConfigurationError):
    """A manifest that cannot be read or trusted, or `.graphql` files that make none."""


def sha256_hex(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def load_manifest(path: Path) -> dict[str, str]:
    """The documents of the manifest at `path` by their SHA-256 (lower-case hex)."""
    where = f"GATEWAY_TRUSTED_DOCUMENTS ({path})"
    try:
        manifest = orjson.loads(path.read_bytes())
    except OSError as error:
        raise ManifestError(f"{where} cannot be read: {error.strerror or error}") from None
    except orjson.JSONDecodeError as error:
        raise ManifestError(f"{where} is not JSON: {error}") from None
    entries = _apollo_entries(manifest, where) if _is_apollo(manifest) else _flat_entries(manifest, where)
    documents: dict[str, str] = {}
    for name, hash_, body in entries:
        if not isinstance(body, str) or not body.strip():
            raise ManifestError(f"{where}: {name} has no document text")
        if not isinstance(hash_, str) or not SHA256_HEX.fullmatch(hash_):
            raise ManifestError(f"{where}: {name} is not named by a SHA-256 (64 lower-case hex digits): {hash_!r}")
        if sha256_hex(body) != hash_:
            raise ManifestError(
                f"{where}: {name} is named {hash_}, but its text's SHA-256 is {sha256_hex(body)}: "
                "regenerate the manifest (ids must be the SHA-256 of the body, the generators' default)"
            )
        documents[hash_] = body
    return documents


def _is_apollo(manifest: Any) -> bool:
    return isinstance(manifest, dict) and "format" in manifest


def _apollo_entries(manifest: dict[str, Any], where: str) -> Iterable[tuple[str, Any, Any]]:
    if manifest["format"] != APOLLO_FORMAT or manifest.get("version") != 1:
        raise ManifestError(
            f"{where}: format {manifest['format']!r} version {manifest.get('version')!r} is not known: "
            f'give {{"format": "{APOLLO_FORMAT}", "version": 1, ...}} or a flat {{"<sha256>": "<document>"}} map'
        )
    operations = manifest.get("operations")
    if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
        raise ManifestError(f"{where}: `operations` must be a list of {{id, name, type, body}} objects")
    return ((f"operation {o.get('name') or i!r}", o.get("id"), o.get("body")) for i, o in enumerate(operations))


def _flat_entries(manifest: Any, where: str) -> Iterable[tuple[str, Any, Any]]:
    if not isinstance(manifest, dict):
        raise ManifestError(f'{where} must be a JSON object: Apollo\'s manifest or {{"<sha256>": "<document>"}}')
    return ((f"entry {key!r}", key, body) for key, body in manifest.items())


def graphql_sources(paths: Iterable[Path]) -> Iterable[tuple[str, str]]:
    """(path, text) of each file, and of each `.graphql` or `.gql` file in a folder, at any depth;
    each file once, however often it is named (a folder and a file in it)."""
    seen: set[Path] = set()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.suffix in (".graphql", ".gql")) if path.is_dir() else [path]
        for file in files:
            if file.resolve() in seen:
                continue
            seen.add(file.resolve())
            try:
                yield str(file), file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise ManifestError(f"{file} cannot be read: {getattr(error, 'strerror', None) or error}") from None


def build_manifest(sources: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Apollo's manifest of the operations in `sources` ((where, text) pairs): one entry an
    operation, its body the operation and every fragment it uses, at any depth, from any source."""
    operations: dict[str, tuple[str, OperationDefinitionNode]] = {}
    fragments: dict[str, FragmentDefinitionNode] = {}
    for where, text in sources:
        for definition in _definitions(where, text):
            if isinstance(definition, OperationDefinitionNode):
                if definition.name is None:
                    raise ManifestError(f"{where}: an operation without a name: the manifest lists them by name")
                name = definition.name.value
                if name in operations:
                    raise ManifestError(f"{where}: operation {name} is also defined in {operations[name][0]}")
                operations[name] = (where, definition)
            elif isinstance(definition, FragmentDefinitionNode):
                if definition.name.value in fragments:
                    raise ManifestError(f"{where}: fragment {definition.name.value} is defined twice")
                fragments[definition.name.value] = definition
            else:
                raise ManifestError(f"{where}: only operations and fragments go in a manifest, not schema definitions")
    entries = []
    for name, (where, operation) in sorted(operations.items()):
        used = _fragments_used(operation, fragments, f"{where}: operation {name}")
        body = print_ast(DocumentNode(definitions=(operation, *(fragments[f] for f in sorted(used)))))
        entries.append({"id": sha256_hex(body), "name": name, "type": operation.operation.value, "body": body})
    return {"format": APOLLO_FORMAT, "version": 1, "operations": entries}


def _definitions(where: str, text: str) -> tuple[Node, ...]:
    try:
        return parse(text).definitions
    except GraphQLSyntaxError as error:
        line, column = error.locations[0] if error.locations else ("?", "?")
        raise ManifestError(f"{where}:{line}:{column}: {error.message}") from None


def _fragments_used(operation: Node, fragments: dict[str, FragmentDefinitionNode], where: str) -> set[str]:
    used: set[str] = set()
    pending = [operation]
    while pending:
        for name in _spreads(pending.pop()) - used:
            if name not in fragments:
                raise ManifestError(f"{where} uses fragment {name}, which no file defines")
            used.add(name)
            pending.append(fragments[name])
    return used


def _spreads(node: Node) -> set[str]:
    names: set[str] = set()

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: Any) -> None:
            names.add(spread.name.value)

    visit(node, Spreads())
    return names
