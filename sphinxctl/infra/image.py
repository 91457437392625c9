"""The API image the stack runs: by digest outside the local devnet.

`nox -s image` (tools/image/build.py) records what it built in `build/image.json`
(`ref` = `localhost/sphinx-api@sha256:...`). `kubernetes.image` (`SPHINX_API_IMAGE` in the
environment files) names the image; when it is empty the local environment takes the recorded
one. testnet and mainnet run exactly the image that was tested, so they refuse a tag (which a
registry can move) and an unset image, and say what to do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sphinxctl.errors import ConfigError

if TYPE_CHECKING:
    from sphinxctl.settings import Settings

IMAGE_RECORD = Path("build") / "image.json"
# The local devnet's stand-in when nothing was built (a tag: fine on a workstation only).
LOCAL_FALLBACK = "ghcr.io/sphinx/api:0.1.0"
_BY_DIGEST = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")
_HINT = (
    "build it (`nox -s image` prints its `ref`), push it keeping the digest "
    "(`skopeo copy --preserve-digests`), and set "
    "SPHINX_API_IMAGE=<registry>/<repo>@sha256:<digest>; "
    "`skopeo inspect docker://<repo>:<tag>` gives a pushed tag's digest"
)


def by_digest(reference: str) -> bool:
    """`repo@sha256:<64 hex>` (a tag may precede the digest; the digest is what is pulled)."""
    return bool(_BY_DIGEST.match(reference))


def recorded_image(project_root: Path | None) -> str | None:
    """The `ref` `nox -s image` recorded under `project_root`, if any."""
    if project_root is None:
        return None
    path = project_root / IMAGE_RECORD
    try:
        ref = json.loads(path.read_text(encoding="utf-8")).get("ref")
    except (OSError, ValueError, AttributeError):
        return None
    return ref if isinstance(ref, str) and by_digest(ref) else None


def api_image(settings: Settings, project_root: Path | None) -> str:
    """The image reference the API Deployment and the migration Job run (ConfigError when a
    non-local environment names none or only a tag)."""
    configured = settings.kubernetes.image.strip()
    env = settings.environment
    if settings.environment == "local":
        return configured or recorded_image(project_root) or LOCAL_FALLBACK
    if not configured:
        raise ConfigError(
            f"kubernetes.image is not set for {env}: its pods must run a known image, by digest",
            hint=_HINT,
            reference="api-image-unset",
        )
    if not by_digest(configured):
        raise ConfigError(
            f"kubernetes.image {configured!r} is a tag, not a digest: {env} runs exactly the "
            "image that was tested, and a registry can move a tag",
            hint=_HINT,
            reference="api-image-not-pinned",
        )
    return configured
