"""`instance-gateway token`: development tokens of every kind the gateway understands."""

import argparse
import sys

from app.config import Settings


def _token_refusal(args: argparse.Namespace, settings: Settings) -> str | None:
    """What is wrong with the options or the secret, named as the user gives them."""
    from app.authorization.identity import MIN_HS256_SECRET_BYTES, is_uuid

    if not settings.jwt_secret and not settings.embedded:
        return "set GATEWAY_JWT_SECRET to mint tokens for this gateway"
    if settings.jwt_secret and len(settings.jwt_secret.encode()) < MIN_HS256_SECRET_BYTES:
        return f"GATEWAY_JWT_SECRET is too short to sign tokens: it needs at least {MIN_HS256_SECRET_BYTES} bytes"
    if sum(who is not None for who in (args.org, args.user, args.system_user)) != 1:
        return (
            "give --org ORG (a service owner), --user ID --party ID (an end user) "
            "or --system-user UUID --system-user-org ORGNO (a system user)"
        )
    if args.user is not None and args.party is None:
        return "--user needs --party ID: the party the user acts for, usually their own"
    if args.user is None and args.party is not None:
        return "--party goes with --user (an end user)"
    if args.org is None and args.org_number is not None:
        return "--org-number goes with --org (a service owner)"
    if (args.system_user is None) != (args.system_user_org is None):
        return "--system-user needs --system-user-org ORGNO (the organisation that owns it), and only it"
    if args.system_user is not None and not is_uuid(args.system_user):
        return f"--system-user must be the system user's id, a UUID, not {args.system_user!r}"
    return None


def mint(args: argparse.Namespace, settings: Settings) -> int:
    from app.authorization.tokens import DEVELOPMENT_SECRET, mint_token

    refusal = _token_refusal(args, settings)
    if refusal is not None:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    token = mint_token(
        secret=settings.jwt_secret or DEVELOPMENT_SECRET,
        org=args.org,
        org_number=args.org_number,
        user_id=args.user,
        party_id=args.party,
        system_user_id=args.system_user,
        system_user_org_number=args.system_user_org,
        scopes=args.scope.split() if args.scope is not None else None,
        sync_adapter=args.sync_adapter,
        scope_claim=args.scope_claim,
        auth_level=args.authlevel,
        ttl_seconds=args.ttl,
    )
    print(token)
    return 0


def auth_level(value: str) -> int:
    from app.authorization.identity import MAX_AUTH_LEVEL, MIN_AUTH_LEVEL

    if not value.isdigit() or not MIN_AUTH_LEVEL <= int(value) <= MAX_AUTH_LEVEL:
        raise argparse.ArgumentTypeError(f"{value!r} is not a level from {MIN_AUTH_LEVEL} to {MAX_AUTH_LEVEL}")
    return int(value)
