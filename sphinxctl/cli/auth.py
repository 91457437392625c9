"""`sphinxctl auth`: issue, verify and revoke access tokens; create signing keys."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sphinxctl.cli.context import get_state
from sphinxctl.cli.render import emit

app = typer.Typer(no_args_is_help=True, help="Issue, verify and revoke JWTs; manage keys.")


class RoleChoice(StrEnum):
    admin = "admin"
    operator = "operator"
    minter = "minter"
    viewer = "viewer"


class AlgorithmChoice(StrEnum):
    HS256 = "HS256"
    EdDSA = "EdDSA"
    ES256 = "ES256"


@app.command()
def token(
    ctx: typer.Context,
    sub: Annotated[str, typer.Option("--sub", help="Subject: who the token is for.")],
    role: Annotated[RoleChoice, typer.Option("--role", help="Role granted by the token.")],
    ttl: Annotated[
        str | None,
        typer.Option(
            "--ttl", help="Lifetime, e.g. 900, 15m, 1h (default: auth.token_ttl_seconds)."
        ),
    ] = None,
    aud: Annotated[
        str | None, typer.Option("--aud", help="Audience (default: auth.audience).")
    ] = None,
) -> None:
    """Issue an access token signed with the active key (the token alone goes to stdout).
    The issuance is recorded in the audit trail first (never the token itself)."""
    from sphinxctl.auth.operations import issue
    from sphinxctl.cli.audit_sink import ready_store, record_token_issued
    from sphinxctl.cli.auth_view import claims_table

    state = get_state(ctx)
    settings = state.settings()
    ttl_seconds = _duration(ttl)
    with ready_store(state, refusing="no token was issued") as store:
        result = issue(settings.auth, state.project_root, sub, role.value, ttl_seconds, aud)
        record_token_issued(store, result.claims)  # fails -> the token is never shown
    if state.output == "table":
        state.err.print(claims_table(result.claims, "issued"))
        state.write(result.token + "\n")
        return
    emit(state, result)


@app.command()
def verify(
    ctx: typer.Context,
    token_value: Annotated[str, typer.Argument(metavar="TOKEN", help="The compact JWT.")],
    aud: Annotated[
        str | None, typer.Option("--aud", help="Expected audience (default: config).")
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Skip the revocation lookup in Redis.")
    ] = False,
) -> None:
    """Verify a token like the API does; print its claims, or why it is rejected (exit 1)."""
    from sphinxctl.auth.operations import inspect
    from sphinxctl.cli.auth_view import claims_table
    from sphinxctl.errors import TokenRejected

    state = get_state(ctx)
    settings = state.settings()
    redis = None if offline else settings.redis
    try:
        report = inspect(settings.auth, redis, state.project_root, token_value, aud)
    except TokenRejected as exc:
        if exc.reason == "revocation-unavailable":
            exc.hint = "start Redis or check redis.url; --offline skips the revocation check"
        raise
    emit(state, report, table=lambda: claims_table(report.claims, "valid"))


@app.command()
def keygen(
    ctx: typer.Context,
    alg: Annotated[
        AlgorithmChoice, typer.Option("--alg", help="Key type.")
    ] = AlgorithmChoice.EdDSA,
    kid: Annotated[
        str | None, typer.Option("--kid", help="Key id (default: <env>-<date>-<hex>).")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", help="Where to write the key files (default: auth.key_dir)."),
    ] = None,
) -> None:
    """Create a new secret or key pair (files mode 0600; the secret is never printed)."""
    from sphinxctl.auth.keygen import generate_key, new_kid
    from sphinxctl.cli.auth_view import key_view
    from sphinxctl.settings.paths import project_path

    state = get_state(ctx)
    root = state.project_root
    if out_dir is None:
        out_dir = project_path(root, state.settings(strict=False).auth.key_dir)
    result = generate_key(alg.value, kid or new_kid(state.env), out_dir, base_dir=root)
    config_file = state.config_dir / (state.env + ".yaml")
    emit(state, result, table=lambda: key_view(result, config_file))


@app.command()
def revoke(
    ctx: typer.Context,
    jti: Annotated[
        str, typer.Argument(metavar="JTI", help="The token's jti, or the token itself.")
    ],
) -> None:
    """Revoke a token by jti until it could no longer be accepted anyway (audited: the request
    is recorded before Redis is written, then its result)."""
    from sphinxctl.auth.operations import revoke_token
    from sphinxctl.cli.audit_sink import (
        OPERATOR_ROLE,
        local_operator,
        ready_store,
        record_revocation,
        revoke_target,
    )
    from sphinxctl.cli.auth_view import revocation_view
    from sphinxctl.store import audited

    state = get_state(ctx)
    settings = state.settings()
    target, params = revoke_target(jti)
    with (
        ready_store(state, refusing="nothing was revoked") as store,
        audited(store, local_operator(), OPERATOR_ROLE, "auth.revoke", target, params) as outcome,
    ):
        outcome.params.update(params)
        result = revoke_token(settings.auth, settings.redis, state.project_root, jti)
        record_revocation(outcome.params, result)
    emit(state, result, table=lambda: revocation_view(result))


@app.command()
def roles(ctx: typer.Context) -> None:
    """Show the role -> permission table."""
    from sphinxctl.auth.roles import Role, permissions_of
    from sphinxctl.cli.auth_view import roles_table

    state = get_state(ctx)
    table_data = {role.value: permissions_of(role) for role in Role}
    emit(state, table_data, table=lambda: roles_table(table_data))


def _duration(text: str | None) -> int | None:
    from sphinxctl.auth.tokens import parse_duration
    from sphinxctl.errors import UsageError

    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(str(exc), hint="--ttl takes seconds or 15m, 1h, 7d, 2w") from None
