"""Turn driver and SQLAlchemy exceptions into StoreErrors with a clear, password-free message.

StoreUnavailable (database down, unreachable, locked, pool exhausted) is what the API maps to
503; a plain StoreError covers an unmigrated database and other failures.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from sphinxctl.errors import SphinxError, StoreError, StoreUnavailable

# SQLSTATE classes that mean "cannot talk to the server right now".
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")  # connection, resources, shutdown/cannot connect
_UNDEFINED_TABLE = "42P01"
_NOT_MIGRATED_HINT = "Run `sphinxctl db migrate` to create or upgrade the schema."


def _first_line(text: str, secret: str | None) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "unknown error")
    if secret:
        line = line.replace(secret, "********")
    return line[:300]


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def classify(exc: BaseException, location: str, secret: str | None = None) -> StoreError:
    """The StoreError that describes `exc` (a SQLAlchemy or DB-API exception)."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, sa_exc.TimeoutError):
        from sphinxctl import metrics

        metrics.DB_POOL_TIMEOUTS.inc()
        return StoreUnavailable(
            f"database connection pool exhausted ({location}): no connection became free in time",
            hint="Raise database.pool_size / max_overflow or find what holds connections.",
            reference="store-pool-exhausted",
        )
    orig = getattr(exc, "orig", None) or exc
    reason = _first_line(str(orig), secret)
    state = _sqlstate(exc) or ""
    text = reason.lower()
    if state == _UNDEFINED_TABLE or "no such table" in text:
        return StoreError(
            f"database not migrated ({location}): {reason}",
            hint=_NOT_MIGRATED_HINT,
            reference="store-not-migrated",
        )
    invalidated = isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
    unavailable = (
        invalidated
        or state.startswith(_UNAVAILABLE_SQLSTATES)
        or isinstance(exc, sa_exc.InterfaceError)
        or (isinstance(exc, sa_exc.OperationalError) and not state)
        or any(
            s in text
            for s in ("connection", "database is locked", "unable to open", "server closed")
        )
    )
    if state.startswith("28") or "authentication failed" in text:
        return StoreUnavailable(
            f"database refused the login ({location}): {reason}",
            hint="Check the user and password in database.url (DATABASE_URL).",
            reference="store-login-refused",
        )
    if unavailable:
        return StoreUnavailable(f"database unavailable ({location}): {reason}")
    return StoreError(f"database error ({location}): {reason}")


@contextmanager
def translated(location: str, secret: str | None = None) -> Iterator[None]:
    """Re-raise database exceptions as StoreErrors (SphinxErrors pass through untouched)."""
    try:
        yield
    except SphinxError:
        raise
    except (sa_exc.SQLAlchemyError, OSError) as exc:
        raise classify(exc, location, secret) from exc
    except Exception as exc:
        # Driver exceptions raised outside SQLAlchemy's wrapping (e.g. during connect).
        module = type(exc).__module__
        if module.startswith(("psycopg", "sqlite3")):
            raise classify(exc, location, secret) from exc
        raise
