"""Settings from GATEWAY_* environment variables or a `.env` file."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    mongodb_url: str | None = None
    mongodb_database: str = "instances"
    jwt_secret: str | None = None
    jwt_public_key_file: Path | None = None
    policy_dir: Path | None = None

    # The database: every operation, finding a server included, ends within this.
    mongodb_timeout_ms: int = 1500

    # Limits on one request.
    max_body_bytes: int = 1_048_576
    max_query_depth: int = 10
    max_aliases: int = 20
    max_tokens: int = 5000
    max_page_size: int = 1000
    max_filter_list: int = 1000  # values in one `in` or `nin`
    document_cache_size: int = 256  # parsed and validated query documents kept

    # What is exposed: switch both off in production if nobody explores the API.
    introspection: bool = True
    graphiql: bool = True
    cors_origins: list[str] = []

    @property
    def embedded(self) -> bool:
        """No MongoDB URL: the gateway runs on an in-memory store."""
        return not self.mongodb_url
