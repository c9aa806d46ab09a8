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

    @property
    def embedded(self) -> bool:
        """No MongoDB URL: the gateway runs on an in-memory store."""
        return not self.mongodb_url
