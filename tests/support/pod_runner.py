"""Run one container of a rendered Deployment with podman, the way the kubelet would.

From the rendered (and revealed) objects: the container's image, command (replaces the image's
ENTRYPOINT), args (replace CMD), env and envFrom (Secrets and ConfigMaps, through an env file so
no value lands on a command line), workingDir, every volumeMount (a ConfigMap's or Secret's keys
as files at its mountPath, an emptyDir as an empty directory), read-only root filesystem and the
pod's user and group. The network is the host's: the devnet, Redis and PostgreSQL the test
started listen on loopback. podman runs with runc and the host's ulimits
(tools/image/containers.conf).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = ROOT / "tools" / "image" / "containers.conf"


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def built_image() -> dict[str, Any]:
    """The checkout's image (built once, then a cache hit): tools/image/build.py's JSON."""
    import json

    result = subprocess.run(
        ["python3", str(ROOT / "tools" / "image" / "build.py")],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"image build failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout))


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise KeyError(f"{kind}/{name} is not in the rendered stack")


def object_data(obj: dict[str, Any]) -> dict[str, str]:
    """A ConfigMap's or Secret's keys and their text (Secret `data` decoded)."""
    import base64

    out = {k: str(v) for k, v in (obj.get("stringData") or {}).items()}
    if obj["kind"] == "Secret":
        out.update({k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()})
    else:
        out.update({k: str(v) for k, v in (obj.get("data") or {}).items()})
    return out


@dataclass
class PodContainer:
    """The podman invocation of one container; `drop_mount` / `drop_key` remove one part."""

    objects: list[dict[str, Any]]
    kind: str  # Deployment or Job
    workload: str
    container: str
    drop_mount: str | None = None
    drop_key: tuple[str, str] | None = None  # (Secret name, key)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pod-")))

    def _source(self, kind: str, name: str) -> dict[str, str]:
        data = object_data(find(self.objects, kind, name))
        if self.drop_key is not None and kind == "Secret" and name == self.drop_key[0]:
            data.pop(self.drop_key[1], None)
        return data

    def argv(self, name: str) -> list[str]:
        pod = find(self.objects, self.kind, self.workload)["spec"]["template"]["spec"]
        spec = next(c for c in pod["containers"] if c["name"] == self.container)
        security = {**(pod.get("securityContext") or {}), **(spec.get("securityContext") or {})}
        argv = ["podman", "run", "-d", "--name", name, "--network", "host"]
        if security.get("readOnlyRootFilesystem"):
            argv.append("--read-only")
        argv += ["--read-only-tmpfs=false"]
        if "runAsUser" in security:
            argv += ["--user", f"{security['runAsUser']}:{security.get('runAsGroup', 0)}"]
        if security.get("allowPrivilegeEscalation") is False:
            argv += ["--security-opt", "no-new-privileges"]
        if "ALL" in ((security.get("capabilities") or {}).get("drop") or []):
            argv += ["--cap-drop", "ALL"]
        if spec.get("workingDir"):
            argv += ["--workdir", spec["workingDir"]]
        argv += ["--env-file", str(self._env_file(spec))]
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        for mount in spec.get("volumeMounts") or []:
            if mount["name"] == self.drop_mount:
                continue
            host = self._volume_dir(volumes[mount["name"]])
            mode = "ro" if mount.get("readOnly") else "rw"
            argv += ["--volume", f"{host}:{mount['mountPath']}:{mode}"]
        if spec.get("command"):
            argv += ["--entrypoint", spec["command"][0]]
        argv.append(spec["image"])
        argv += list(spec.get("command") or [])[1:] + list(spec.get("args") or [])
        return argv

    def _env_file(self, spec: dict[str, Any]) -> Path:
        env: dict[str, str] = {}
        for source in spec.get("envFrom") or []:
            if "secretRef" in source:
                env.update(self._source("Secret", source["secretRef"]["name"]))
            if "configMapRef" in source:
                env.update(self._source("ConfigMap", source["configMapRef"]["name"]))
        for var in spec.get("env") or []:
            ref = (var.get("valueFrom") or {}).get("secretKeyRef")
            if ref is not None:
                value = self._source("Secret", ref["name"]).get(ref["key"])
                if value is not None:
                    env[var["name"]] = value
            else:
                env[var["name"]] = str(var.get("value", ""))
        path = self.workdir / "env"
        path.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        path.chmod(0o600)
        return path

    def _volume_dir(self, volume: dict[str, Any]) -> Path:
        directory: Path = self.workdir / "volumes" / volume["name"]
        directory.mkdir(parents=True, exist_ok=True)
        if "configMap" in volume:
            files = self._source("ConfigMap", volume["configMap"]["name"])
        elif "secret" in volume:
            files = self._source("Secret", volume["secret"]["secretName"])
        else:  # emptyDir: writable by the pod's fsGroup/user
            directory.chmod(0o1777)
            return directory
        for key, text in files.items():
            (directory / key).write_text(text)
            (directory / key).chmod(0o644)
        directory.chmod(0o755)
        return directory


class RunningContainer:
    """A started container: its HTTP base URL, logs, and teardown."""

    def __init__(self, pod: PodContainer, port: int) -> None:
        self.name = f"sphinx-pod-{os.getpid()}-{port}-{time.monotonic_ns() % 10**6}"
        self.url = f"http://127.0.0.1:{port}"
        argv = pod.argv(self.name)
        done = subprocess.run(argv, capture_output=True, text=True, env=podman_env(), timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"podman run failed: {done.stderr.strip()}")

    def wait_exit(self, timeout: float = 120.0) -> int:
        out = subprocess.run(
            ["podman", "wait", self.name], capture_output=True, text=True, env=podman_env(),
            check=True, timeout=timeout,
        )  # fmt: skip
        return int(out.stdout.strip())

    def running(self) -> bool:
        out = subprocess.run(
            ["podman", "inspect", "--format", "{{.State.Running}}", self.name],
            capture_output=True, text=True, env=podman_env(), check=False,
        )  # fmt: skip
        return out.stdout.strip() == "true"

    def logs(self) -> str:
        out = subprocess.run(
            ["podman", "logs", self.name], capture_output=True, text=True, env=podman_env(),
            check=False,
        )  # fmt: skip
        return out.stdout + out.stderr

    def exec(self, *argv: str) -> str:
        out = subprocess.run(
            ["podman", "exec", self.name, *argv], capture_output=True, text=True,
            env=podman_env(), check=False,
        )  # fmt: skip
        return out.stdout + out.stderr

    def wait_http(self, path: str, timeout: float = 60.0) -> httpx.Response | None:
        """The first answer on `path`, or None if the container exited or never answered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return httpx.get(self.url + path, timeout=30)
            except httpx.TransportError:
                if not self.running():
                    return None
                time.sleep(0.3)
        return None

    def stop(self) -> None:
        subprocess.run(
            ["podman", "rm", "-f", "-t", "2", self.name], capture_output=True,
            env=podman_env(), check=False, timeout=60,
        )  # fmt: skip

    def __enter__(self) -> RunningContainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
