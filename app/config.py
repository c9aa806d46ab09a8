"""Settings from GATEWAY_* environment variables or a `.env` file."""

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, HttpUrl, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.authorization.identity import CLOCK_SKEW_LEEWAY_SECONDS

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

DEFAULT_PAGE_SIZE = 100  # instances in a page when the caller names no size, in either API


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    mongodb_url: str | None = None
    mongodb_database: str = "instances"
    jwt_secret: str | None = None
    jwt_public_key_file: Path | None = None
    policy_dir: Path | None = None
    # Or the keys of an OpenID provider (Altinn's platform): its configuration's issuer and jwks_uri.
    openid_configuration_url: HttpUrl | None = None
    # A token naming a key not held fetches the keys again, at most once in this many seconds;
    # a fetch (the configuration and the key set) ends within the timeout.
    openid_refetch_interval_s: float = Field(10, gt=0)
    openid_timeout_s: float = Field(5, gt=0)
    # When set, a token's `aud` must name it.
    token_audience: str | None = None
    # Seconds a token's exp, nbf and iat may be off: the issuer's clock and the gateway's differ.
    token_leeway_s: float = Field(CLOCK_SKEW_LEEWAY_SECONDS, ge=0)

    # The database: every operation, finding a server included, ends within this.
    mongodb_timeout_ms: int = 1500
    # /readyz: the database must answer a ping within this (probes often give up after 1 s).
    readiness_timeout_ms: int = 500
    # On SIGTERM: in-flight requests get this long to finish before the process stops.
    shutdown_timeout_s: int = 20
    # Processes `serve` runs on its port, one a core; each has its own database client, change
    # stream and caches. More than one needs a MongoDB: embedded stores would differ.
    workers: int = Field(1, ge=1)

    # Limits on one request.
    max_body_bytes: int = 1_048_576
    # Slow clients: a request's head must arrive within this of its first byte, and its body
    # within this of the head's end, or the server closes the connection.
    request_head_timeout_s: float = Field(10, gt=0)
    request_body_timeout_s: float = Field(30, gt=0)
    max_query_depth: int = Field(10, ge=1)
    max_aliases: int = Field(20, ge=0)
    max_tokens: int = Field(5000, ge=1)
    max_page_size: int = Field(1000, ge=DEFAULT_PAGE_SIZE)  # `first`; not below its default
    max_filter_list: int = Field(1000, ge=1)  # values in one input list: `in`, `nin`, `or`, ...
    document_cache_size: int = Field(256, ge=0)  # parsed and validated query documents kept; 0: none
    # Automatic persisted queries (Apollo's APQ): documents registered by their SHA-256, kept in
    # this process, the least recently used forgotten first beyond either bound; either 0: off.
    apq_cache_size: int = Field(1000, ge=0)
    apq_cache_bytes: int = Field(16_777_216, ge=0)
    # Apollo's persisted-query manifest or a {"<sha256>": "<document>"} map; with
    # trusted_documents_only no other document runs.
    trusted_documents: Path | None = None
    trusted_documents_only: bool = False
    # Queries answered by compiled plans (app/graphql/compiled/); false: the general executor answers all.
    compiled_execution: bool = True

    # Subscriptions over WebSocket: operations one connection may run at once; changes waiting
    # for one subscriber before it is dropped as too slow; seconds between keep-alive messages;
    # seconds a new connection has to send its connection_init; seconds a send may wait for a
    # client that reads nothing before its connection is cut.
    subscriptions_per_connection: int = Field(100, ge=1)
    subscription_queue_size: int = Field(1000, ge=1)
    subscription_keepalive_s: float = Field(15, gt=0)
    # The most changes a subscription resumed with `after` replays (REPLAY_LIMIT_EXCEEDED beyond).
    subscription_replay_limit: int = Field(10_000, ge=1)
    connection_init_timeout_s: float = Field(10, gt=0)
    websocket_send_timeout_s: float = Field(20, gt=0)

    # What is exposed: switch both off in production if nobody explores the API.
    introspection: bool = True
    graphiql: bool = True
    cors_origins: list[str] = []

    # Where clients reach the gateway (scheme, host, port, any path prefix a proxy adds), for the
    # links REST answers hold; unset: the address the request's connection reached. Never the
    # Host header: the client writes it, and a link in an answer must not be the client's choice.
    public_url: HttpUrl | None = None

    @field_validator("public_url")
    @classmethod
    def _a_base_url(cls, url: HttpUrl | None) -> HttpUrl | None:
        if url is not None and (url.query or url.fragment):
            raise ValueError("a base URL has no query and no fragment: scheme, host, port and path only")
        return url

    @property
    def embedded(self) -> bool:
        """No MongoDB URL: the gateway runs on an in-memory store."""
        return not self.mongodb_url


class SettingsError(ValueError):
    """A GATEWAY_* value that cannot be used, said in the variable's own name."""


def read_settings() -> Settings:
    """The settings, or a SettingsError naming each bad variable: a pydantic report names the
    model's fields, which the person who set the environment never sees."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError("; ".join(map(_said, error.errors()))) from None


# Values never repeated in a message: a log may keep it.
_UNSAID = ("secret", "url", "key", "password")


def _said(problem: "ErrorDetails") -> str:
    name = "GATEWAY_" + "_".join(map(str, problem["loc"])).upper()
    if any(word in name.lower() for word in _UNSAID):
        return f"{name}: {problem['msg']}"
    return f"{name}: {problem['msg']} (got {problem['input']!r})"
