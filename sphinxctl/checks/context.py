"""What every check of one run shares: the settings, and facts computed once for all checks.

Facts (a chain's RPC probe, the deployment record, the role graph...) are memoised per run and
computed by whichever check asks first; the others wait for that one result. A fact that cannot
be established raises Blocked naming the item that owns the problem, so that only that item
fails and the checks depending on it report that they were not evaluated.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sphinxctl.checks.registry import Blocked

if TYPE_CHECKING:
    from sphinxctl.checks.model import ChecklistItem
    from sphinxctl.errors import SphinxError
    from sphinxctl.settings import LoadedSettings, Settings

T = TypeVar("T")


@dataclass
class _Entry:
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class CheckContext:
    """The run's environment, settings and memoised facts (thread-safe)."""

    def __init__(
        self,
        *,
        env: str,
        project_root: Path,
        loaded: LoadedSettings | None,
        load_error: SphinxError | None = None,
        io_timeout: float = 8.0,
        clock: Callable[[], float] = time.time,
        items: list[ChecklistItem] | None = None,
    ) -> None:
        self.env = env
        self.project_root = project_root
        self.loaded = loaded
        self.load_error = load_error
        self.io_timeout = io_timeout
        self.clock = clock
        self.items = items or []
        self._lock = threading.Lock()
        self._memo: dict[str, _Entry] = {}

    # ------------------------------------------------------------------ memo

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()` once per run for `key`; concurrent callers wait for the first one."""
        with self._lock:
            entry = self._memo.get(key)
            owner = entry is None
            if entry is None:
                entry = self._memo[key] = _Entry()
        if owner:
            try:
                entry.value = compute()
            except BaseException as exc:  # noqa: BLE001 — re-raised to every waiter of the shared value
                entry.error = exc
            finally:
                entry.done.set()
        else:
            entry.done.wait()
        if entry.error is not None:
            raise entry.error
        return entry.value  # type: ignore[no-any-return]

    # -------------------------------------------------------------- settings

    @property
    def settings(self) -> Settings:
        """The environment's settings; Blocked by CFG-001 when they did not load."""
        if self.loaded is None:
            reason = self.load_error.message if self.load_error else "configuration not loaded"
            raise Blocked("CFG-001", reason)
        return self.loaded.settings

    @property
    def is_local(self) -> bool:
        return self.env == "local"

    def timeout_for(self, configured: float) -> float:
        """An I/O timeout: the configured one, capped by this run's per-check budget."""
        return max(0.1, min(configured, self.io_timeout))

    def path(self, relative: Path | str) -> Path:
        """A path from the settings, resolved against the project root when relative."""
        from sphinxctl.settings.paths import project_path

        return project_path(self.project_root, relative)
