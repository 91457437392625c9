"""The rollout's arithmetic without a cluster: replica counts per step, the metric gate's
verdicts (and their reasons), and the settings and flags that feed them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sphinxctl.cli.infra_rollout import parse_duration, parse_steps
from sphinxctl.errors import UsageError
from sphinxctl.infra.rollout_analysis import judge
from sphinxctl.infra.rollout_canary import canary_object, plan_step
from sphinxctl.infra.rollout_models import Series
from sphinxctl.settings.sections import RolloutSettings

GATES = RolloutSettings(min_requests=10, max_error_ratio_increase=0.01, max_p99_ratio=1.5)
HEALTHY = Series(requests=500, error_ratio=0.002, p99_seconds=0.200)


@pytest.mark.parametrize(
    ("share", "stable", "expected"),
    [
        (10, 10, (1, 10)),  # 1 of 11 pods
        (10, 4, (1, 4)),  # never below one canary pod
        (25, 9, (3, 9)),
        (50, 4, (4, 4)),
        (90, 4, (4, 4)),  # never more canary pods than stable ones
        (100, 4, (4, 0)),  # the canary alone, at the stable's size
    ],
)
def test_replicas_per_step(share: int, stable: int, expected: tuple[int, int]) -> None:
    step = plan_step(1, share, stable)
    assert (step.canary_replicas, step.stable_replicas) == expected
    assert 0 < step.effective_share <= 100


def test_a_canary_like_the_stable_passes() -> None:
    canary = Series(requests=60, error_ratio=0.004, p99_seconds=0.250)
    verdict = judge(1, 10, 300, HEALTHY, canary, None, GATES)
    assert verdict.passed and verdict.reasons == [] and verdict.baseline == "stable"


def test_a_canary_with_more_5xx_fails_naming_both_values() -> None:
    canary = Series(requests=60, error_ratio=0.25, p99_seconds=0.2)
    verdict = judge(1, 10, 300, HEALTHY, canary, None, GATES)
    assert not verdict.passed
    assert verdict.reasons == ["canary 5xx ratio 25.00% > stable 0.20% + 1.00%"]


def test_a_slow_canary_fails_on_p99() -> None:
    canary = Series(requests=60, error_ratio=0.0, p99_seconds=0.600)
    (reason,) = judge(1, 10, 300, HEALTHY, canary, None, GATES).reasons
    assert reason == "canary p99 600 ms > stable 200 ms x 1.5 + 50 ms"


def test_too_little_canary_traffic_gives_no_pass() -> None:
    canary = Series(requests=3, error_ratio=0.0, p99_seconds=0.1)
    verdict = judge(1, 10, 300, HEALTHY, canary, None, GATES)
    assert not verdict.passed and "fewer than 10" in verdict.reasons[0]


def test_at_100_percent_the_previous_steps_stable_is_the_baseline() -> None:
    idle_stable = Series(requests=0)
    canary = Series(requests=900, error_ratio=0.05, p99_seconds=0.2)
    verdict = judge(3, 100, 300, idle_stable, canary, HEALTHY, GATES)
    assert verdict.baseline == "previous-step" and not verdict.passed
    assert verdict.reasons == ["canary 5xx ratio 5.00% > previous-step 0.20% + 1.00%"]
    alone = judge(1, 100, 300, idle_stable, canary, None, GATES)
    assert alone.baseline == "none" and "> none 0.00%" in alone.reasons[0]


def test_the_canary_object_is_the_stable_with_its_own_selector_and_image() -> None:
    stable: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "sphinx-api",
            "labels": {
                "app.kubernetes.io/name": "sphinx-api",
                "applyset.kubernetes.io/part-of": "x",
            },
        },
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "sphinx-api"}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "sphinx-api"}},
                "spec": {"containers": [{"name": "api", "image": "old"}]},
            },
        },
    }
    obj = canary_object(stable, "new", "r1")
    assert obj["metadata"]["name"] == "sphinx-api-canary"
    assert "applyset.kubernetes.io/part-of" not in obj["metadata"]["labels"]  # never pruned
    assert obj["spec"]["selector"]["matchLabels"]["sphinx.io/track"] == "canary"
    pod_labels = obj["spec"]["template"]["metadata"]["labels"]
    assert pod_labels == {"app.kubernetes.io/name": "sphinx-api", "sphinx.io/track": "canary"}
    assert "replicas" not in obj["spec"]  # counts are set by scale, never by an apply
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "new"
    assert stable["spec"]["template"]["spec"]["containers"][0]["image"] == "old"


@pytest.mark.parametrize(("text", "seconds"), [("300", 300), ("30s", 30), ("5m", 300),
                                               ("1h", 3600), ("500ms", 0.5)])  # fmt: skip
def test_pause_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "-1s", "0", "0ms", "5y"])
def test_bad_pause_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


@pytest.mark.parametrize("text", ["10,50", "50,10,100", "0,100", "10,x,100", "10,10,100"])
def test_bad_steps_are_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_steps(text)


def test_steps_setting_must_climb_to_100() -> None:
    assert parse_steps("5,25,100") == [5, 25, 100]
    for steps in ([10, 50], [50, 10, 100], [0, 100], [10, 150]):
        with pytest.raises(ValidationError):
            RolloutSettings(steps=steps)
