"""CHECKLIST.md: the human list of readiness items, parsed into ChecklistItems.

Each area is a `## Title (PFX)` section holding a table whose rows are
`| PFX-NNN | what must be true | automated: `check-name` |` or `| ... | manual: evidence |`.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinxctl.checks.model import ChecklistItem
from sphinxctl.errors import ConfigError

# id prefix -> (area key used by --only, section title)
AREAS: dict[str, tuple[str, str]] = {
    "CTR": ("contracts", "Contracts and audits"),
    "KEY": ("keys", "Keys and multisig"),
    "CFG": ("config", "Configuration and secrets"),
    "RPC": ("chains", "Chains and RPC"),
    "DEP": ("deployment", "Deployment"),
    "API": ("api", "API security"),
    "INF": ("infra", "Infrastructure"),
    "MON": ("monitoring", "Monitoring and alerting"),
    "BAK": ("backups", "Backups and disaster recovery"),
    "INC": ("incident", "Incident response"),
    "LCH": ("launch", "Launch and rollout"),
}

CHECKLIST_FILE = "CHECKLIST.md"

_SECTION = re.compile(r"^##\s+(?P<title>.+?)\s+\((?P<prefix>[A-Z]{3})\)\s*$")
_ROW = re.compile(
    r"^\|\s*(?P<id>[A-Z]{3}-\d{3})\s*\|\s*(?P<text>.+?)\s*\|\s*"
    r"(?P<kind>automated|manual):\s*(?P<what>.+?)\s*\|\s*$"
)
_CHECK_NAME = re.compile(r"^`(?P<name>[a-z0-9][a-z0-9-]*)`$")


def area_of(item_id: str) -> str:
    """The area key (`contracts`, `chains`, ...) of an item id such as `CTR-004`."""
    return AREAS[item_id[:3]][0]


def resolve_areas(only: list[str]) -> list[str]:
    """Area keys from --only values: area keys or id prefixes, any case, comma-separated."""
    from sphinxctl.errors import UsageError

    by_name = {key: key for key, _ in AREAS.values()} | {p: k for p, (k, _) in AREAS.items()}
    by_name = {name.lower(): key for name, key in by_name.items()}
    chosen: list[str] = []
    for value in only:
        for part in filter(None, (p.strip().lower() for p in value.split(","))):
            if part not in by_name:
                known = ", ".join(key for key, _ in AREAS.values())
                raise UsageError(f"unknown area {part!r}", hint=f"use one of: {known}")
            if by_name[part] not in chosen:
                chosen.append(by_name[part])
    return chosen or [key for key, _ in AREAS.values()]


def parse_checklist(text: str, source: str = CHECKLIST_FILE) -> list[ChecklistItem]:
    """Every item of the checklist text, in file order; ConfigError on a malformed line."""
    items: list[ChecklistItem] = []
    seen: set[str] = set()
    prefix: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        section = _SECTION.match(line)
        if section:
            prefix = section["prefix"]
            if prefix not in AREAS:
                raise _bad(source, number, f"unknown area prefix {prefix}")
            continue
        if not re.match(r"^\|\s*[A-Z]{3}-\d", line):
            continue
        row = _ROW.match(line)
        if row is None:
            raise _bad(source, number, "row must be `| ID | text | automated: `name` |` or manual")
        item_id = row["id"]
        if prefix is None or item_id[:3] != prefix:
            raise _bad(source, number, f"{item_id} is outside its area's section ({prefix})")
        if item_id in seen:
            raise _bad(source, number, f"duplicate id {item_id}")
        seen.add(item_id)
        check = evidence = None
        if row["kind"] == "automated":
            name = _CHECK_NAME.match(row["what"])
            if name is None:
                raise _bad(source, number, "automated items name their check as `check-name`")
            check = name["name"]
        else:
            evidence = row["what"]
        items.append(
            ChecklistItem(
                id=item_id,
                area=AREAS[prefix][0],
                text=row["text"],
                kind=row["kind"],
                check=check,
                evidence=evidence,
            )
        )
    return items


def load_checklist(project_root: Path) -> list[ChecklistItem]:
    """Parse `<project_root>/CHECKLIST.md`."""
    path = project_root / CHECKLIST_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the checklist {path}: {exc.strerror or exc}",
            hint="run from the project root, or pass --config-dir <project>/environments",
            reference="checklist-missing",
        ) from None
    return parse_checklist(text, str(path))


def _bad(source: str, line: int, problem: str) -> ConfigError:
    return ConfigError(
        f"{source}:{line}: {problem}",
        hint="fix the checklist row; the format is described at the top of CHECKLIST.md",
        reference="checklist-invalid",
    )
