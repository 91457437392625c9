"""Configuration and secrets: checks that read only the environment's settings."""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

from sphinxctl.checks.context import CheckContext
from sphinxctl.checks.registry import (
    Blocked,
    Outcome,
    check,
    failed,
    passed,
    problems_outcome,
)

if TYPE_CHECKING:
    from sphinxctl.settings import Settings
    from sphinxctl.settings.sections import AuthKey

ZERO = "0x" + "0" * 40
BURN = "0x000000000000000000000000000000000000dead"
MIN_SECRET_BITS = 128
# Words that mark a value somebody meant to replace.
PLACEHOLDER_WORDS = ("changeme", "change-me", "replace", "example", "development", "password")
# Well-known networks per environment: chain name -> chain id.
NETWORKS: dict[str, dict[str, int]] = {
    "mainnet": {"ethereum": 1, "polygon": 137, "arbitrum": 42161},
    "testnet": {"ethereum": 11155111, "polygon": 80002, "arbitrum": 421614},
    "local": {"ethereum": 1, "polygon": 137, "arbitrum": 42161},
}


def is_placeholder_address(address: str) -> bool:
    """Zero, burn, or one repeated hex digit (0x1111..., 0xffff...)."""
    body = address.lower()[2:]
    return address.lower() in (ZERO, BURN) or len(set(body)) == 1


@check("CFG-001", "config-variables-set")
def config_variables_set(ctx: CheckContext) -> Outcome:
    """The configuration loads and every ${VAR} it references is set."""
    if ctx.loaded is None:
        error = ctx.load_error
        return failed(
            error.message if error else "the configuration did not load",
            (error.hint if error else None) or "fix the environment file, then rerun",
        )
    missing = ctx.loaded.missing
    if missing:
        where = [
            f"{m.variable} (for {m.key_path}{f', line {m.line}' if m.line else ''})"
            for m in missing
        ]
        names = sorted({m.variable for m in missing})
        return failed(
            f"{ctx.loaded.path.name}: unset variable(s): {'; '.join(where)}",
            f"export {', '.join(names)} (from the secret manager) before running",
            variables=names,
        )
    return passed(f"{ctx.loaded.path.name} loads; every referenced variable is set")


@check("CFG-002", "config-no-placeholder-addresses")
def config_no_placeholder_addresses(ctx: CheckContext) -> Outcome:
    """No configured address is the zero address or a placeholder."""
    s = ctx.settings
    named: list[tuple[str, str]] = [("contracts.treasury", s.contracts.treasury)]
    problems: list[str] = []
    for chain in s.chains:
        token = s.contracts.spx_token.get(chain)
        if token is not None:
            named.append((f"contracts.spx_token.{chain}", token))
        elif not s.contracts.deploy_local_token:
            problems.append(f"contracts.spx_token has no entry for {chain}")
        safe = s.multisig.safes.get(chain)
        if safe is not None:
            named.append((f"multisig.safes.{chain}", safe))
        elif not ctx.is_local:  # the devnet's Safe comes from the deployment record
            problems.append(f"multisig.safes has no entry for {chain}")
    named += [(f"multisig.owners[{i}]", a) for i, a in enumerate(s.multisig.owners)]
    named += [(f"contracts.minters[{i}]", a) for i, a in enumerate(s.contracts.minters)]
    named += [(f"contracts.operators[{i}]", a) for i, a in enumerate(s.contracts.operators)]
    problems += [f"{key} is a placeholder ({value})" for key, value in named
                 if is_placeholder_address(value)]  # fmt: skip
    return problems_outcome(
        problems,
        f"{len(named)} configured addresses, none a placeholder",
        "put the real addresses in the environment file (reviewed by a second operator)",
    )


def needed_secrets(ctx: CheckContext, s: Settings) -> list[str]:
    """Names of secrets the environment needs but does not have."""
    missing: list[str] = []
    d = s.deployer
    if d.private_key is None and d.keystore_path is None:
        missing.append("deployer.private_key or deployer.keystore_path")
    elif d.private_key is not None:
        try:
            deployer_address(ctx)
        except Blocked as blocked:
            missing.append(blocked.reason)
    if d.keystore_path is not None:
        if not ctx.path(d.keystore_path).is_file():
            missing.append(f"deployer.keystore_path ({d.keystore_path} does not exist)")
        if d.keystore_password is None:
            missing.append("deployer.keystore_password")
    for key in s.auth.keys:
        missing += _key_material_missing(ctx, key, active=key.kid == s.auth.active_kid)
    if not ctx.is_local:
        if s.database.url is None:
            missing.append("database.url")
        if s.monitoring.grafana_admin_password is None:
            missing.append("monitoring.grafana_admin_password")
    return missing


def _key_material_missing(ctx: CheckContext, key: AuthKey, *, active: bool) -> list[str]:
    where = f"auth.keys[{key.kid}]"
    if key.algorithm == "HS256":
        if key.secret is None and key.secret_path is None:
            return [f"{where}.secret"]
        if key.secret_path is not None and not ctx.path(key.secret_path).is_file():
            return [f"{where}.secret_path ({key.secret_path} does not exist)"]
        return []
    paths = [p for p in (key.private_key_path, key.public_key_path) if p is not None]
    if active and key.private_key_path is None:
        return [f"{where}.private_key_path (the active key signs tokens)"]
    if not paths:
        return [f"{where}.public_key_path"]
    return [f"{where}: {p} does not exist" for p in paths if not ctx.path(p).is_file()]


@check("CFG-003", "config-secrets-set")
def config_secrets_set(ctx: CheckContext) -> Outcome:
    """Every secret the environment needs has a value."""
    missing = needed_secrets(ctx, ctx.settings)
    if missing:
        return failed(
            "missing: " + "; ".join(missing),
            "provide them from the secret manager as environment variables or files",
            missing=missing,
        )
    return passed("deployer, JWT keys" + ("" if ctx.is_local else ", database, Grafana") + " set")


def estimated_bits(secret: bytes) -> float:
    """Shannon estimate of a secret's entropy: length x bits per symbol."""
    if not secret:
        return 0.0
    counts = Counter(secret)
    per_symbol = -sum(c / len(secret) * math.log2(c / len(secret)) for c in counts.values())
    return per_symbol * len(secret)


@check("CFG-004", "jwt-secret-strength")
def jwt_secret_strength(ctx: CheckContext) -> Outcome:
    """Every JWT key loads and every HS256 secret is long, high-entropy and not a placeholder."""
    from sphinxctl.auth.keys import load_key
    from sphinxctl.errors import AuthError

    s = ctx.settings
    if any(_key_material_missing(ctx, k, active=k.kid == s.auth.active_kid) for k in s.auth.keys):
        raise Blocked("CFG-003", "JWT key material is missing")
    problems: list[str] = []
    for key in s.auth.keys:
        try:
            loaded = load_key(key, ctx.project_root)
        except AuthError as exc:
            problems.append(exc.message)
            continue
        if key.algorithm != "HS256":
            continue
        secret: bytes = loaded.verify_key
        bits = estimated_bits(secret)
        if bits < MIN_SECRET_BITS:
            problems.append(
                f"HS256 secret of key {key.kid!r} has about {bits:.0f} bits of entropy "
                f"(at least {MIN_SECRET_BITS} needed)"
            )
        lowered = secret.decode("utf-8", "replace").lower()
        if not ctx.is_local and any(word in lowered for word in PLACEHOLDER_WORDS):
            problems.append(f"HS256 secret of key {key.kid!r} looks like a placeholder")
    return problems_outcome(
        problems,
        f"{len(s.auth.keys)} JWT key(s) load; HS256 secrets are strong",
        "generate new material with `sphinxctl auth keygen --alg HS256` (or EdDSA)",
    )


@check("CFG-005", "jwt-algorithm-policy")
def jwt_algorithm_policy(ctx: CheckContext) -> Outcome:
    """The JWT algorithm list, key algorithms, active key and lifetimes follow the policy."""
    from sphinxctl.auth.keys import KeySet, SigningKey
    from sphinxctl.errors import AuthError

    auth = ctx.settings.auth
    problems: list[str] = []
    try:  # the key set's own rules, without loading key material (CFG-004's job)
        KeySet(
            (SigningKey(k.kid, k.algorithm, k.retired, verify_key=None) for k in auth.keys),
            active_kid=auth.active_kid,
            algorithms=auth.algorithms,
        )
    except AuthError as exc:
        problems.append(exc.message)
    unused = sorted(set(auth.algorithms) - {k.algorithm for k in auth.keys})
    if unused:
        problems.append(f"auth.algorithms accepts {', '.join(unused)} but no key uses it")
    if not ctx.is_local:
        if auth.token_ttl_seconds > 3600:
            problems.append(f"auth.token_ttl_seconds is {auth.token_ttl_seconds} (max 3600)")
        if auth.leeway_seconds > 30:
            problems.append(f"auth.leeway_seconds is {auth.leeway_seconds} (max 30)")
    return problems_outcome(
        problems,
        f"algorithms {', '.join(auth.algorithms)}; active key {auth.active_kid}",
        "fix the auth section: only algorithms in use, an unretired active key, TTL <= 1 h",
    )


@check("CFG-006", "config-chain-set")
def config_chain_set(ctx: CheckContext) -> Outcome:
    """The configured chains are the environment's networks with their well-known ids."""
    s = ctx.settings
    expected = NETWORKS.get(ctx.env)
    if expected is None:  # another environment: it must be one of the known sets
        configured = {name: c.chain_id for name, c in s.chains.items()}
        if configured in NETWORKS.values():
            return passed(f"chains match a known network set: {configured}")
        return failed(
            f"chains {configured} match neither the mainnet nor the testnet networks",
            "configure ethereum, polygon and arbitrum with their chain ids",
        )
    problems = [f"chain {name!r} is not configured" for name in expected if name not in s.chains]
    for name, chain in s.chains.items():
        want = expected.get(name)
        if want is None:
            problems.append(f"chain {name!r} is not one of {', '.join(expected)}")
        elif chain.chain_id != want:
            problems.append(f"chains.{name}.chain_id is {chain.chain_id}, expected {want}")
        if ctx.is_local and chain.devnet_port is None:
            problems.append(f"chains.{name}.devnet_port is unset on the local devnet")
    return problems_outcome(
        problems,
        ", ".join(f"{n} ({c.chain_id})" for n, c in s.chains.items()),
        f"set the chains section to the {ctx.env} networks",
    )


def deployer_address(ctx: CheckContext) -> str:
    """The deployer's address (from its key or keystore); Blocked by CFG-003 without one."""
    from sphinxctl.chains.signer import keystore_address, load_signer
    from sphinxctl.errors import ConfigError

    def derive() -> str:
        deployer = ctx.settings.deployer
        if deployer.private_key is not None:
            try:
                return load_signer(deployer, ctx.project_root).address
            except ConfigError as exc:
                raise Blocked("CFG-003", exc.message) from None
        if deployer.keystore_path is not None:
            address = keystore_address(ctx.path(deployer.keystore_path))
            if address:
                return address
            raise Blocked("CFG-003", f"deployer.keystore_path {deployer.keystore_path} unreadable")
        raise Blocked("CFG-003", "no deployer key or keystore is configured")

    return ctx.memo("deployer", derive)
