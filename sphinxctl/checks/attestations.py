"""Sign-offs of manual checklist items: `deployments/<env>.attestations.yaml`.

    attestations:
      - id: CTR-020
        who: alice@sphinx.example
        when: 2026-11-20
        evidence: https://audits.example/sphinx-final.pdf

An attestation counts when its id is a manual item, `who` and `evidence` are given (a URL, or a
path inside the repository that exists) and `when` is neither in the future nor older than
MAX_AGE_DAYS. Anything else is listed as a problem (reported by the `attestations-valid` item).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel, ValidationError

from sphinxctl.checks.model import Attestation, ChecklistItem

if TYPE_CHECKING:
    from sphinxctl.checks.context import CheckContext

MAX_AGE_DAYS = 180


class AttestationSet(BaseModel):
    """The valid attestations by item id, and what was wrong with the others."""

    path: Path
    exists: bool
    valid: dict[str, Attestation] = {}
    problems: list[str] = []


def attestations_path(project_root: Path, env: str) -> Path:
    return project_root / "deployments" / f"{env}.attestations.yaml"


def load_attestations(
    project_root: Path,
    env: str,
    items: list[ChecklistItem],
    *,
    today: date | None = None,
) -> AttestationSet:
    """Read and validate the environment's attestations file (absent file: none attested)."""
    path = attestations_path(project_root, env)
    found = AttestationSet(path=path, exists=path.is_file())
    if not found.exists:
        return found
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        found.problems.append(f"{path.name}: unreadable: {str(exc).splitlines()[0]}")
        return found
    entries = data.get("attestations") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        found.problems.append(f"{path.name}: expected a top-level `attestations:` list")
        return found

    kinds: dict[str, str] = {item.id: item.kind for item in items}
    today = today or datetime.now(UTC).date()
    for index, entry in enumerate(entries):
        where = f"{path.name} entry {index + 1}"
        try:
            att = Attestation.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "entry"
            found.problems.append(f"{where}: {loc}: {first['msg']}")
            continue
        problem = _problem(att, kinds, today, project_root)
        if problem:
            found.problems.append(f"{where} ({att.id}): {problem}")
        elif att.id in found.valid:
            found.problems.append(f"{where} ({att.id}): attested twice")
        else:
            found.valid[att.id] = att
    return found


def _problem(att: Attestation, kinds: dict[str, str], today: date, root: Path) -> str | None:
    kind = kinds.get(att.id)
    if kind is None:
        return "no such item in CHECKLIST.md"
    if kind != "manual":
        return "automated items are checked, not attested"
    day = att.when.date() if isinstance(att.when, datetime) else att.when
    if day > today:
        return f"dated in the future ({day})"
    if today - day > timedelta(days=MAX_AGE_DAYS):
        return f"older than {MAX_AGE_DAYS} days ({day}): re-verify and re-attest"
    evidence = att.evidence.strip()
    if not evidence.startswith(("https://", "http://")) and not (root / evidence).exists():
        return f"evidence {evidence!r} is neither a URL nor a file in the repository"
    return None


def attestation_set(ctx: CheckContext) -> AttestationSet:
    """The run's attestations (loaded once, shared by the manual items and their check)."""
    today = datetime.fromtimestamp(ctx.clock(), UTC).date()
    return ctx.memo(
        "attestations",
        lambda: load_attestations(ctx.project_root, ctx.env, ctx.items, today=today),
    )
