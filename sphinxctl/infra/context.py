"""What every infra operation needs: settings, a cluster connection, progress reporting."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sphinxctl.infra.models import ObjectRef, ProgressEvent

if TYPE_CHECKING:
    from sphinxctl.infra.client import KubeApi
    from sphinxctl.infra.render import Sources
    from sphinxctl.settings import Settings


@dataclass
class StackContext:
    """One environment's stack on one cluster."""

    settings: Settings
    api: KubeApi
    sources: Sources | None = None
    on_event: Callable[[ProgressEvent], None] | None = None
    poll_interval: float = 2.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.monotonic)

    @property
    def namespace(self) -> str:
        return self.settings.kubernetes.namespace

    def emit(self, phase: Any, message: str, obj: str | None = None) -> None:
        if self.on_event is not None:
            self.on_event(ProgressEvent(phase=phase, object=obj, message=message))

    def live(self, ref: ObjectRef) -> dict[str, Any] | None:
        return self.api.get(ref.api_version, ref.kind, ref.name, ref.namespace)

    def __enter__(self) -> StackContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.api.close()


def open_stack(
    settings: Settings,
    *,
    kubeconfig: Path | None = None,
    context: str | None = None,
    sources: Sources | None = None,
    on_event: Callable[[ProgressEvent], None] | None = None,
) -> StackContext:
    """Connect to the cluster the flags, else the environment's settings, else kubectl's
    defaults name; use as a context manager so the connection is closed."""
    from sphinxctl.infra.client import KubeApi

    config = kubeconfig or settings.kubernetes.kubeconfig
    api = KubeApi.connect(
        config.expanduser() if config else None, context or settings.kubernetes.context
    )
    return StackContext(settings=settings, api=api, sources=sources, on_event=on_event)
