"""Build the API image without any registry, cached by input hash.

1. base: `debootstrap --variant=minbase` (python3, venv, CA certificates) from the Debian mirror
   in this machine's apt sources, imported with `podman import` as localhost/sphinx-base:<hash>;
2. wheels: sphinxctl and its dependencies built on the host with `pip wheel`, the versions pinned
   to the ones installed in .venv (what the test suite ran against);
3. `buildah bud --isolation chroot` on the Containerfile, installing those wheels with
   `pip install --no-index`, tagged localhost/sphinx-api:<hash>.

Each step is skipped when podman's storage already holds its tag, so a rebuild of an unchanged
checkout costs one `podman image exists`. Prints one JSON object: ref (repo@sha256:...), tag,
digest, size, layers and the seconds each step took, and records it in build/image.json (the
local environment deploys that `ref` when kubernetes.image is empty). Run through
`nox -s image`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CONTAINERS_CONF = HERE / "containers.conf"
SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
BASE_REPO = "localhost/sphinx-base"
API_REPO = "localhost/sphinx-api"
# Dependencies `serve` never imports (operator-side tools): left out of the image.
NOT_IN_IMAGE = {"kubernetes", "py-solc-x"}
# Debian 12's Python is 3.11.2: redis needs async-timeout below 3.11.3, which the host's newer
# Python skips when it resolves the wheels.
IMAGE_EXTRAS = ["async-timeout==5.0.1"]


def podman_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


def run(*args: str, capture: bool = False, **kw: object) -> str:
    out = subprocess.run(
        list(args), check=True, text=True, env=podman_env(),
        stdout=subprocess.PIPE if capture else sys.stderr, **kw,  # type: ignore[call-overload]
    )  # fmt: skip
    return out.stdout if capture else ""


def debian_mirror() -> str:
    """The Debian mirror this machine's apt sources name for the suite."""
    sources = [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
    for path in sources:
        text = path.read_text() if path.is_file() else ""
        for match in re.finditer(r"(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+)", text):
            uri = match.group(1)
            if uri.rstrip("/").endswith("/debian") and f"{SUITE}" in text:
                return uri.rstrip("/")
    return "http://deb.debian.org/debian"


def digest_of(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def image_exists(tag: str) -> bool:
    return subprocess.run(["podman", "image", "exists", tag], env=podman_env()).returncode == 0


def build_base(mirror: str) -> tuple[str, float]:
    key = digest_of(SUITE.encode(), mirror.encode(), " ".join(BASE_PACKAGES).encode(), b"v1")
    tag = f"{BASE_REPO}:{key}"
    if image_exists(tag):
        return tag, 0.0
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sphinx-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        run("debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
            SUITE, str(rootfs), mirror)  # fmt: skip
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc",
                     "usr/share/man", "usr/share/info", "usr/share/locale"):  # fmt: skip
            shutil.rmtree(rootfs / junk, ignore_errors=True)
            (rootfs / junk).mkdir(parents=True, exist_ok=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = ["podman", "import", "--change", 'CMD=["/bin/bash"]', "-", tag]
        subprocess.run(imported, stdin=tar.stdout, check=True, env=podman_env(), stdout=sys.stderr)
        if tar.wait() != 0:
            raise SystemExit("tar of the rootfs failed")
    return tag, time.monotonic() - start


def source_inputs() -> list[Path]:
    files = [ROOT / "pyproject.toml", ROOT / "Containerfile", Path(__file__)]
    files += sorted(p for p in (ROOT / "sphinxctl").rglob("*") if p.is_file()
                    and "__pycache__" not in p.parts)  # fmt: skip
    return files


def pinned_requirements() -> str:
    """The versions installed in .venv, minus dev-only and operator-only packages."""
    frozen = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-m", "pip", "freeze", "--exclude-editable"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return "".join(line + "\n" for line in sorted(frozen.splitlines()) if "==" in line)


def build_wheels(wheels: Path, pins: str) -> None:
    constraints = wheels / "constraints.txt"
    constraints.write_text(pins)
    python = str(ROOT / ".venv/bin/python")
    # Wheel builds leave build/ and *.egg-info in the source tree; build from a copy instead.
    with tempfile.TemporaryDirectory(prefix="sphinx-src-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(ROOT / "sphinxctl", src / "sphinxctl",
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, src / name)
        run(python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(src))
    deps = [d for d in runtime_dependencies() if d.split("==")[0].split("[")[0] not in NOT_IN_IMAGE]
    run(python, "-m", "pip", "wheel", "-q", "-w", str(wheels), "-c", str(constraints),
        *deps, *IMAGE_EXTRAS)  # fmt: skip
    # sphinxctl goes in with --no-deps: its operator-only dependencies stay out.
    names = sorted(p.name for p in wheels.glob("*.whl") if not p.name.startswith("sphinxctl-"))
    (wheels / "requirements.txt").write_text("".join(f"/wheels/{n}\n" for n in names))


def runtime_dependencies() -> list[str]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"])


def prune_old_images(keep: str, newest: int = 3) -> None:
    """Untag all but the newest few API images (one per checkout built); in-use ones stay."""
    listing = run("podman", "images", "--format", "{{.Repository}}:{{.Tag}} {{.CreatedAt}}",
                  API_REPO, capture=True)  # fmt: skip
    rows = sorted((line.split(" ", 1) for line in listing.splitlines() if " " in line),
                  key=lambda row: row[1], reverse=True)  # fmt: skip
    old = [name for name, _ in rows[newest:] if name != keep]
    if old:
        subprocess.run(["podman", "rmi", *old], env=podman_env(), capture_output=True)


def version() -> str:
    text = (ROOT / "sphinxctl/__init__.py").read_text()
    match = re.search(r'__version__ = "([^"]+)"', text)
    return match.group(1) if match else "unknown"


def build(force: bool = False) -> dict[str, object]:
    timings: dict[str, float] = {}
    mirror = debian_mirror()
    base, timings["base_s"] = build_base(mirror)
    pins = pinned_requirements()
    key = digest_of(base.encode(), pins.encode(), *(p.read_bytes() for p in source_inputs()))
    tag = f"{API_REPO}:{key}"
    if force or not image_exists(tag):
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="sphinx-image-") as tmp:
            context = Path(tmp)
            (context / "wheels").mkdir()
            build_wheels(context / "wheels", pins)
            timings["wheels_s"] = time.monotonic() - start
            shutil.copy2(ROOT / "Containerfile", context / "Containerfile")
            run("buildah", "bud", "--isolation", "chroot", "--layers=false", "-q",
                "--build-arg", f"BASE={base}", "--build-arg", f"VERSION={version()}",
                "--build-arg", f"SOURCE_HASH={key}", "-t", tag, str(context))  # fmt: skip
        timings["image_s"] = time.monotonic() - start
        prune_old_images(keep=tag)
    inspect = json.loads(run("skopeo", "inspect", f"containers-storage:{tag}", capture=True))
    info = json.loads(run("podman", "image", "inspect", tag, capture=True))[0]
    return {
        "tag": tag,
        "digest": inspect["Digest"],
        "ref": f"{API_REPO}@{inspect['Digest']}",
        "version": version(),
        "size_bytes": info["Size"],
        "layers": len(info["RootFS"]["Layers"]),
        "base": base,
        "timings": {k: round(v, 1) for k, v in timings.items()},
    }


RECORD = ROOT / "build" / "image.json"


def record(result: dict[str, object]) -> None:
    """build/image.json: what the local environment deploys when kubernetes.image is empty
    (sphinxctl/infra/image.py); written atomically, the checkout's last build."""
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    tmp = RECORD.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(RECORD)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild the API image")
    args = parser.parse_args()
    result = build(force=args.force)
    record(result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
