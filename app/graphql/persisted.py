"""Documents named by their SHA-256 instead of sent: Apollo's automatic persisted queries
(`extensions.persistedQuery {version: 1, sha256Hash}`) and trusted documents (GraphQL over
HTTP's `documentId: "sha256:<hex>"`, or the same APQ hash). A request is resolved from its JSON
before Strawberry sees it, so a document refused here is never parsed.

APQ registrations live in this process only, in an LRU bounded by count and bytes: behind
several replicas a client may miss once on each, and registers the document again there.
"""

import re
import sys
from typing import Any

from app.config import Settings
from app.errors import BadUserInput, GatewayError
from app.graphql.trusted_documents import SHA256_HEX, ManifestError, load_manifest, sha256_hex
from app.lru import LRU

DOCUMENT_ID = re.compile(r"sha256:([0-9a-f]{64})")
APQ_VERSION = 1


NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
ONLY_TRUSTED = "TRUSTED_DOCUMENTS_ONLY"


class DocumentRefused(GatewayError):
    """A document named by a hash that is not known or not its own, or not let run: `code`
    says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# Apollo's messages: Apollo Client and urql match them to send the document, or to stop trying.
APOLLO_MESSAGES = {NOT_FOUND: "PersistedQueryNotFound", NOT_SUPPORTED: "PersistedQueryNotSupported"}
ONLY_TRUSTED_MESSAGE = (
    "Only trusted documents run on this gateway (GATEWAY_TRUSTED_DOCUMENTS_ONLY): name one of its "
    'manifest by `documentId` ("sha256:<hex>") or by `extensions.persistedQuery.sha256Hash`'
)


class PersistedDocuments:
    def __init__(self, trusted: dict[str, str], *, trusted_only: bool, registered: LRU | None) -> None:
        """`trusted`: documents by SHA-256; `registered`: APQ's store, None when APQ is off."""
        self.trusted = trusted
        self.trusted_only = trusted_only
        self._registered = None if trusted_only else registered
        # A text longer than every trusted one is none of them: refused without hashing it.
        self._longest_trusted = max(map(len, trusted.values()), default=0)

    @classmethod
    def from_settings(cls, settings: Settings) -> "PersistedDocuments":
        """Raises ManifestError for a manifest it cannot trust."""
        if settings.trusted_documents_only and settings.trusted_documents is None:
            raise ManifestError("GATEWAY_TRUSTED_DOCUMENTS_ONLY needs GATEWAY_TRUSTED_DOCUMENTS, the manifest")
        trusted = load_manifest(settings.trusted_documents) if settings.trusted_documents else {}
        registered = None
        if settings.apq_cache_size and settings.apq_cache_bytes:  # else none could be kept: APQ is off
            registered = LRU(settings.apq_cache_size, max_weight=settings.apq_cache_bytes, weigh=sys.getsizeof)
        return cls(trusted, trusted_only=settings.trusted_documents_only, registered=registered)

    def resolve(self, request: dict[str, Any]) -> dict[str, Any]:
        """The request with the document it names as its `query`. Raises DocumentRefused for a
        document not known, a hash that is not the document's, or one not trusted, and
        BadUserInput for a malformed name."""
        document_id, query = request.get("documentId"), request.get("query")
        extensions = request.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if document_id is not None:
            if query is not None or persisted is not None:
                raise BadUserInput("Give one of `query`, `documentId` and `extensions.persistedQuery`, not several")
            missing = DocumentRefused(NOT_FOUND, f"No document is known by the documentId {document_id}")
            return {**request, "query": self._known(_document_hash(document_id), missing)}
        if persisted is not None:
            return self._automatic(request, _apq_hash(persisted), query)
        if self.trusted_only and not self._is_trusted(query):
            raise DocumentRefused(ONLY_TRUSTED, ONLY_TRUSTED_MESSAGE)
        return request

    def _automatic(self, request: dict[str, Any], hash_: str, query: Any) -> dict[str, Any]:
        if query is None:
            apq_off = self._registered is None and not self.trusted_only
            code = NOT_SUPPORTED if apq_off else NOT_FOUND
            return {**request, "query": self._known(hash_, DocumentRefused(code, APOLLO_MESSAGES[code]))}
        if not isinstance(query, str):
            return request  # Strawberry says what `query` must be
        if self.trusted_only:
            if self.trusted.get(hash_) != query:
                raise DocumentRefused(ONLY_TRUSTED, ONLY_TRUSTED_MESSAGE)
            return request
        if sha256_hex(query) != hash_:
            # Nothing is kept: a hash must never come to name another document than its own.
            raise DocumentRefused(HASH_MISMATCH, "provided sha does not match query")  # Apollo's words
        if self._registered is not None and hash_ not in self.trusted:
            self._registered.put(hash_, query)
        return request

    def _known(self, hash_: str, missing: DocumentRefused) -> str:
        document = self.trusted.get(hash_)
        if document is None and self._registered is not None:
            document = self._registered.get(hash_)
        if document is None:
            raise missing
        return document

    def _is_trusted(self, query: Any) -> bool:
        return isinstance(query, str) and len(query) <= self._longest_trusted and sha256_hex(query) in self.trusted


def _document_hash(document_id: Any) -> str:
    match = DOCUMENT_ID.fullmatch(document_id) if isinstance(document_id, str) else None
    if match is None:
        raise BadUserInput(f'`documentId` must be "sha256:" and 64 lower-case hex digits, not {document_id!r}')
    return match.group(1)


def _apq_hash(persisted: Any) -> str:
    if not isinstance(persisted, dict):
        raise BadUserInput("`extensions.persistedQuery` must be an object: {version: 1, sha256Hash}")
    version, hash_ = persisted.get("version"), persisted.get("sha256Hash")
    if version != APQ_VERSION or isinstance(version, bool):
        raise BadUserInput(f"Unsupported persisted query version {version!r}: version {APQ_VERSION} is supported")
    if not isinstance(hash_, str) or not SHA256_HEX.fullmatch(hash_):
        raise BadUserInput(f"`persistedQuery.sha256Hash` must be 64 lower-case hex digits, not {hash_!r}")
    return hash_
