"""The commands that print documents of the gateway itself: its GraphQL schema, its OpenAPI
document, and manifests of trusted documents."""

import argparse
import json
import sys

from app.config import Settings


def export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from app.graphql.schema import build_schema

    sys.stdout.write(build_schema(settings).as_str() + "\n")
    return 0


def export_openapi(args: argparse.Namespace, settings: Settings) -> int:
    from app.rest.openapi import openapi_text

    sys.stdout.write(openapi_text())
    return 0


def build_trusted_documents(args: argparse.Namespace, settings: Settings) -> int:
    from app.graphql.trusted_documents import ManifestError, build_manifest, graphql_sources

    try:
        manifest = build_manifest(graphql_sources(args.paths))
    except ManifestError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as error:
            print(f"error: {args.output} cannot be written: {error.strerror or error}", file=sys.stderr)
            return 2
    print(f"{len(manifest['operations'])} operations in the manifest", file=sys.stderr)
    return 0
