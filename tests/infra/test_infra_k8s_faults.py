"""Faults and bad credentials against the real kube-apiserver: 5xx, 409 storms and dropped
connections injected by a proxy in front of it; a restricted RBAC user, an expired client
certificate, a CA that does not match, an unreachable server, a broken kubeconfig."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sphinxctl.errors import ConfigError, KubernetesError
from sphinxctl.infra.apply import up
from sphinxctl.infra.client import KubeApi
from sphinxctl.infra.context import StackContext
from sphinxctl.infra.queries import history, status
from sphinxctl.settings import Settings
from tests.support.infra_env import DB_PASSWORD, settings_for, stack_for
from tests.support.k8s_control_plane import RESTRICTED_USER, ControlPlane
from tests.support.k8s_fault_proxy import FaultProxy
from tests.support.k8s_fixtures import Cluster
from tests.support.k8s_pki import TestPki
from tests.support.ports import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(k8s_namespace: str) -> Settings:
    s = settings_for("mainnet")
    s.kubernetes.namespace = k8s_namespace
    return s


@pytest.fixture
def stack(settings: Settings, proxied_kubeconfig: Path) -> Iterator[StackContext]:
    with stack_for(settings, proxied_kubeconfig) as ctx:
        yield ctx


def test_injected_5xx_409_and_dropped_connections_are_retried(
    fault_proxy: FaultProxy, stack: StackContext, cluster: Cluster
) -> None:
    unavailable = fault_proxy.inject(503, method="PATCH", times=2)
    storm = fault_proxy.inject(
        409,
        method="PATCH",
        path_contains="deployments",
        times=3,
        message="Operation cannot be fulfilled: the object has been modified",
    )
    dropped = fault_proxy.inject("drop", method="GET", path_contains="/secrets", times=1)
    result = up(stack)
    assert result.revision == 1
    assert (unavailable.hits, storm.hits, dropped.hits) == (2, 3, 1)
    assert cluster.get("apps/v1", "deployments", "sphinx-api") is not None


def test_persistent_5xx_becomes_a_clear_error_after_bounded_retries(
    fault_proxy: FaultProxy, stack: StackContext
) -> None:
    fault = fault_proxy.inject(503, method="PATCH", path_contains="configmaps", times=100)
    with pytest.raises(KubernetesError) as err:
        up(stack)
    assert fault.hits == stack.api.retry.attempts == 5
    assert "HTTP 503 ServiceUnavailable" in err.value.message
    assert "after 5 attempts" in err.value.message and err.value.exit_code == 5
    assert history(stack).revisions[-1].status == "failed"


def test_error_text_from_the_server_is_scrubbed_of_secret_values(
    fault_proxy: FaultProxy, stack: StackContext
) -> None:
    fault_proxy.inject(
        422,
        method="PATCH",
        path_contains="secrets/postgres",
        times=5,
        message=f"field data has value {DB_PASSWORD!r}",
    )
    with pytest.raises(KubernetesError) as err:
        up(stack)
    assert DB_PASSWORD not in err.value.message
    assert "field data has value '********'" in err.value.message
    assert "Secret " in err.value.message  # ordinary words survive the scrub


def test_a_restricted_rbac_user_is_refused_before_anything_is_written(
    control_plane: ControlPlane, settings: Settings, tmp_path: Path, cluster: Cluster
) -> None:
    viewer = control_plane.pki.client(RESTRICTED_USER)
    config = control_plane.kubeconfig(tmp_path / "viewer", client=viewer)
    with stack_for(settings, config) as ctx, pytest.raises(KubernetesError) as err:
        up(ctx)
    assert "HTTP 403 Forbidden" in err.value.message and RESTRICTED_USER in err.value.message
    assert "RBAC" in (err.value.hint or "") and err.value.exit_code == 5
    assert err.value.details["attempts"] == 1
    assert cluster.get("v1", "namespaces", cluster.ns, None) is None


def test_an_expired_client_certificate_is_refused_with_its_own_hint(
    control_plane: ControlPlane, settings: Settings, tmp_path: Path
) -> None:
    expired = control_plane.pki.client("sphinx-admin", "system:masters", expired=True)
    config = control_plane.kubeconfig(tmp_path / "expired", client=expired)
    with stack_for(settings, config) as ctx, pytest.raises(KubernetesError) as err:
        status(ctx)
    assert "HTTP 401 Unauthorized" in err.value.message
    assert "expired" in (err.value.hint or "") and err.value.details["attempts"] == 1


def test_a_ca_that_does_not_match_the_server_is_a_tls_error_not_retried(
    control_plane: ControlPlane, settings: Settings, tmp_path: Path
) -> None:
    other = TestPki(tmp_path / "other-ca", ca_name="someone-elses-ca")
    config = control_plane.kubeconfig(tmp_path / "wrong-ca", ca=other.ca)
    calls: list[float] = []
    with stack_for(settings, config) as ctx:
        ctx.api._sleep = calls.append
        with pytest.raises(KubernetesError) as err:
            status(ctx)
    assert err.value.reference == "kubernetes-tls" and err.value.exit_code == 5
    assert "certificate verify failed" in err.value.message
    assert "certificate-authority" in (err.value.hint or "")
    assert calls == []


def test_unreachable_server_and_broken_kubeconfig_are_kubernetes_errors(
    control_plane: ControlPlane, settings: Settings, tmp_path: Path
) -> None:
    config = control_plane.kubeconfig(
        tmp_path / "closed", server=f"https://127.0.0.1:{free_port()}"
    )
    with stack_for(settings, config) as ctx, pytest.raises(KubernetesError) as err:
        status(ctx)
    assert err.value.reference == "kubernetes-unreachable" and err.value.exit_code == 5
    with pytest.raises(KubernetesError) as err:
        KubeApi.connect(config, "no-such-context")
    assert err.value.reference == "kubeconfig-invalid"
    broken = tmp_path / "broken"
    broken.write_text("apiVersion: v1\nclusters: [oops\n")
    with pytest.raises(KubernetesError) as err:
        KubeApi.connect(broken, None)
    assert err.value.reference == "kubeconfig-invalid" and str(broken) in err.value.message


def test_missing_secrets_stop_up_before_any_request(
    fault_proxy: FaultProxy, k8s_namespace: str, proxied_kubeconfig: Path
) -> None:
    settings = settings_for("testnet", DATABASE_URL="", SPHINX_GRAFANA_PASSWORD="")
    settings.kubernetes.namespace = k8s_namespace
    with stack_for(settings, proxied_kubeconfig) as ctx, pytest.raises(ConfigError) as err:
        up(ctx)
    assert "database.url#password" in err.value.message
    assert "monitoring.grafana_admin_password" in err.value.message
    assert fault_proxy.writes() == []
