"""The small parts of infra: templates, secret markers, diff masking, readiness rules,
ApplySet ids, revision encoding, backoff."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import Any

import pytest

from sphinxctl.errors import ConfigError
from sphinxctl.infra.applyset import applyset_id, parent_group_kinds, parent_object
from sphinxctl.infra.client import RetryPolicy
from sphinxctl.infra.diff import mask_secrets, normalize, unified
from sphinxctl.infra.order import delete_sorted, group_kind, install_sorted
from sphinxctl.infra.revisions import from_secret, new_revision, to_secret
from sphinxctl.infra.secret_values import (
    REDACTED,
    SecretValue,
    redact,
    rehydrate,
    reveal,
    scrub,
    secret_strings,
)
from sphinxctl.infra.template import Template, render_template
from sphinxctl.infra.values import pdb_min_available
from sphinxctl.infra.wait import deployment_ready, readiness, statefulset_ready
from tests.support.infra_env import DB_PASSWORD, settings_for


def _template(doc: object) -> Template:
    return Template(Path("t.yaml"), [doc])


def test_whole_placeholders_keep_their_type_and_none_drops_the_key() -> None:
    doc = {
        "kind": "X",
        "n": "${n}",
        "m": "${m}",
        "gone": "${none}",
        "s": "v${n}-x",
        "l": ["${none}", "${n}"],
        "t": "${n|str}",
    }
    out = render_template(_template(doc), {"n": 3, "m": {"a": 1}, "none": None})
    assert out == [{"kind": "X", "n": 3, "m": {"a": 1}, "s": "v3-x", "l": [3], "t": "3"}]


def test_secret_placeholders_become_markers_never_values() -> None:
    out = render_template(_template({"kind": "Secret", "v": "${secret:database.url}"}), {})
    assert out[0]["v"] == SecretValue("database.url")
    assert redact(out)[0]["v"] == REDACTED


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"kind": "X", "a": "${nope}"}, "unknown value ${nope}"),
        ({"kind": "X", "a": "x-${m}"}, "cannot be part of a string"),
        ({"a": 1}, "not a Kubernetes object"),
    ],
)
def test_template_mistakes_are_config_errors(doc: object, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("$", r"\$").replace("{", r"\{")):
        render_template(_template(doc), {"m": {"a": 1}})


def test_reveal_refuses_missing_secrets_naming_the_settings_not_values() -> None:
    settings = settings_for("testnet", DATABASE_URL="", SPHINX_JWT_SECRET="")
    objects = [
        {
            "kind": "Secret",
            "stringData": {
                "A": SecretValue("database.url#password"),
                "B": SecretValue("auth.keys[testnet-1].secret"),
                "C": SecretValue("api.sentry_dsn"),
            },
        }
    ]
    with pytest.raises(ConfigError) as err:
        reveal(objects, settings)
    assert err.value.details["missing"] == ["auth.keys[testnet-1].secret", "database.url#password"]
    assert err.value.reference == "infra-secret-missing"


def test_optional_secret_becomes_empty_and_postgres_parts_come_from_the_url() -> None:
    settings = settings_for("mainnet")
    objects: list[dict[str, Any]] = [
        {
            "kind": "Secret",
            "stringData": {
                "P": SecretValue("database.url#password"),
                "S": SecretValue("api.sentry_dsn"),
            },
        }
    ]
    assert reveal(objects, settings)[0]["stringData"] == {"P": DB_PASSWORD, "S": ""}
    assert isinstance(objects[0]["stringData"]["P"], SecretValue)  # input untouched


def test_rehydrate_restores_markers_from_the_sources_annotation() -> None:
    stored = {
        "kind": "Secret",
        "metadata": {"annotations": {"sphinxctl.io/secret-sources": '{"K": "redis.url"}'}},
        "stringData": {"K": REDACTED},
    }
    assert rehydrate([stored])[0]["stringData"] == {"K": SecretValue("redis.url")}


def test_scrub_replaces_known_values_in_error_text() -> None:
    values = secret_strings(settings_for("mainnet"))
    assert DB_PASSWORD in values and "sphinx" not in values  # user and database name are not
    text = f"apply Secret sphinx/x failed: bad password {DB_PASSWORD}!"
    assert scrub(text, values) == f"apply Secret sphinx/x failed: bad password {REDACTED}!"


def test_diff_masks_secret_values_but_shows_that_one_changed() -> None:
    live: dict[str, Any] = {
        "kind": "Secret",
        "metadata": {"name": "s", "managedFields": [{}], "resourceVersion": "7"},
        "data": {
            "same": base64.b64encode(b"same-value").decode(),
            "changed": base64.b64encode(b"old-value").decode(),
        },
    }
    new = {**live, "data": {**live["data"], "changed": base64.b64encode(b"new-value").decode()}}
    a, b = mask_secrets(normalize(live), normalize(new))
    text = unified("Secret/s", a, b)
    assert "changed: '******** (before)'" in text and "changed: '******** (after)'" in text
    assert "same" not in text.replace("same: '********'", "")  # unchanged key masked, no +/-
    for raw in (b"same-value", b"old-value", b"new-value"):
        assert base64.b64encode(raw).decode() not in text and raw.decode() not in text
    assert "managedFields" not in text and "resourceVersion" not in text


def test_deployment_readiness_follows_helm_rules() -> None:
    dep: dict[str, Any] = {
        "kind": "Deployment",
        "metadata": {"generation": 2},
        "spec": {"replicas": 4, "strategy": {"rollingUpdate": {"maxUnavailable": 1}}},
        "status": {"observedGeneration": 1},
    }
    assert deployment_ready(dep) == (False, "rollout not observed yet")
    dep["status"] = {"observedGeneration": 2, "updatedReplicas": 4, "readyReplicas": 2}
    assert deployment_ready(dep)[0] is False
    dep["status"]["readyReplicas"] = 3  # 4 - maxUnavailable
    assert deployment_ready(dep) == (True, "3/4 replicas ready")


def test_statefulset_and_claim_readiness() -> None:
    sts: dict[str, Any] = {
        "kind": "StatefulSet",
        "metadata": {"generation": 1},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            "readyReplicas": 1,
            "updatedReplicas": 1,
            "currentRevision": "a",
            "updateRevision": "b",
        },
    }
    assert statefulset_ready(sts) == (False, "update revision not yet current")
    sts["status"]["currentRevision"] = "b"
    assert statefulset_ready(sts)[0] is True
    assert readiness({"kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}})[0]
    assert not readiness({"kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}})[0]
    assert readiness(None) == (False, "missing")
    assert readiness({"kind": "ConfigMap"}) == (True, "present")


def test_applyset_id_follows_the_kep_format_and_is_stable() -> None:
    ident = applyset_id("sphinx")
    assert ident == "applyset-Ne-DTyLWpHLTz-bet7W-Kjk2HDtkQSStfLvmEsGpRyo-v1"
    assert len(ident) <= 63 and applyset_id("sphinx-testnet") != ident
    parent = parent_object("sphinx", {"Deployment.apps", "Secret"})
    assert parent["metadata"]["labels"]["applyset.kubernetes.io/id"] == ident
    assert parent_group_kinds(parent) == {"Deployment.apps", "Secret"}
    assert group_kind("apps/v1", "Deployment") == "Deployment.apps"
    assert group_kind("v1", "Secret") == "Secret"


def test_install_order_is_helms_and_delete_is_its_reverse() -> None:
    kinds = [
        "Ingress",
        "Deployment",
        "Secret",
        "Namespace",
        "Service",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "ConfigMap",
        "PodDisruptionBudget",
        "Role",
        "CronJob",
    ]
    ordered = [o["kind"] for o in install_sorted([{"kind": k} for k in kinds])]
    assert ordered == [
        "Namespace",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Secret",
        "ConfigMap",
        "Role",
        "Service",
        "Deployment",
        "HorizontalPodAutoscaler",
        "CronJob",
        "Ingress",
    ]
    assert [o["kind"] for o in delete_sorted([{"kind": k} for k in kinds])] == ordered[::-1]


def test_revision_round_trips_through_its_secret() -> None:
    rev = new_revision(3, "deployed", "upgrade", "mainnet", [{"kind": "ConfigMap", "a": 1}])
    secret = to_secret(rev, "sphinx")
    assert secret["metadata"]["name"] == "sphinxctl.v3"
    assert "applyset.kubernetes.io/part-of" not in secret["metadata"]["labels"]  # never pruned
    assert from_secret(secret) == rev
    assert gzip.decompress(base64.b64decode(secret["data"]["release"])).startswith(b"{")


def test_pdb_minimum_stays_below_the_hpa_minimum() -> None:
    assert [pdb_min_available(n) for n in (1, 2, 5, 10, 50)] == [0, 1, 4, 8, 40]


def test_backoff_is_bounded_and_honours_retry_after() -> None:
    policy = RetryPolicy(attempts=5, base_delay=0.5, max_delay=3.0)
    delays = [policy.delay(n) for n in range(1, 8)]
    assert all(0 < d <= 3.0 for d in delays) and delays[-1] == 3.0
    assert policy.delay(1, retry_after=2.0) == 2.0
    assert policy.delay(1, retry_after=60.0) == 3.0
