"""The `instance-gateway` command: serve, import, export, purge, export-schema, export-openapi,
token, trusted-documents. The entry point, above the composition: it serves what the
composition builds."""

from app.cli.main import main

__all__ = ["main"]
