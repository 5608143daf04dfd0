"""Commit one transaction while the next is built: two connections to the same database take
turns, the COMMIT of the last unit of work runs in a thread while this thread goes on.

Why: the COMMIT of an import chunk is where PostgreSQL checks the chunk's deferred foreign keys
(12 checks a row, ~45 us of its CPU a row) and flushes the WAL; the importing thread waited for
it doing nothing, about a fifth of an import's wall time. Committed behind, it runs on the
other core while this thread reads and decides the next chunk.

The rules that keep the outcome that of one transaction after the other:

- Commits happen in order: a unit's COMMIT starts only after the previous one's has finished
  (``transaction()`` settles the pending one before handing its own over).
- The caller ``settle()``s (waits for the pending COMMIT) before work that depends on what the
  previous unit wrote: the import does so when the next chunk names a patient or order of the
  previous one, and before any request the order service handles one by one. Other work runs
  beside the pending COMMIT: it cannot see the previous unit's new rows, and does not need to;
  a row the previous unit changed is locked until its COMMIT, so a write to it waits.
- A failed COMMIT is raised by the next ``settle()`` (in the unit under way, which is then
  rolled back) or when the block ends; on-commit hooks run in this thread after the COMMIT.

Connection handling: the block's own connection for the alias is one of the two; the other is
made for the block and closed at its end, when the alias gets its own connection back.
Disabled (one plain transaction per unit, committed in place) outside PostgreSQL, inside an
atomic block (the work must see the caller's uncommitted rows: tests, callers' transactions),
or with ``IRIS_COMMIT_BEHIND = False``."""
import logging
import threading
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger(__name__)


class _Pending:
    """A COMMIT running in its own thread."""

    def __init__(self, wrapper):
        self.wrapper = wrapper
        self.error: BaseException | None = None
        wrapper.inc_thread_sharing()
        self.thread = threading.Thread(target=self._commit, name="commit-behind", daemon=True)
        self.thread.start()

    def _commit(self) -> None:
        try:
            self.wrapper.commit()
        except BaseException as exc:  # noqa: BLE001 - raised in the importing thread by settle()
            self.error = exc


class CommitBehind:
    """``with CommitBehind() as commits: for unit in work: with commits.transaction(): ...``"""

    def __init__(self, alias: str = DEFAULT_DB_ALIAS, *, enabled: bool = True):
        self.alias = alias
        home = connections[alias]
        self.enabled = (enabled and getattr(settings, "IRIS_COMMIT_BEHIND", True) and home.vendor == "postgresql"
                        and not home.in_atomic_block)
        self._home = home
        self._spare = None
        self._pending: _Pending | None = None

    def connections(self) -> list:
        """The connections the units of work run on (for AheadWhileWaiting's hook)."""
        return [wrapper for wrapper in (self._home, self._spare) if wrapper is not None]

    def __enter__(self) -> "CommitBehind":
        if self.enabled:
            self._spare = connections.create_connection(self.alias)
        return self

    def __exit__(self, exc_type, *exc) -> None:
        try:
            if exc_type is None:
                self.settle()
            else:
                self._settle_quietly()
        finally:
            connections[self.alias] = self._home
            if self._spare is not None:
                self._spare.close()

    @contextmanager
    def transaction(self):
        """One unit of work in its own transaction; its COMMIT starts as the block ends and
        finishes in the background."""
        if not self.enabled:
            with transaction.atomic(using=self.alias):
                yield
            return
        wrapper = connections[self.alias]
        wrapper.set_autocommit(False)
        try:
            yield
            self.settle()  # commits in order
        except BaseException:
            _roll_back(wrapper)
            self._settle_quietly()
            raise
        self._pending = _Pending(wrapper)
        connections[self.alias] = self._spare if wrapper is self._home else self._home

    def settle(self) -> None:
        """Wait for the pending COMMIT, if any; run its on-commit hooks, or raise its error."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        pending.thread.join()
        wrapper = pending.wrapper
        wrapper.dec_thread_sharing()
        if pending.error is not None:
            _roll_back(wrapper)
            raise pending.error
        wrapper.set_autocommit(True)  # Django runs the transaction's on-commit hooks here

    def _settle_quietly(self) -> None:
        """On the way out after an error: the pending COMMIT ends one way or the other; an error
        of its own is logged, the caller raises the first one."""
        try:
            self.settle()
        except Exception:  # noqa: BLE001 - the unit's own error is the one raised
            logger.exception("the previous unit's COMMIT failed too")


def _roll_back(wrapper) -> None:
    """End the connection's transaction without its work and return it to autocommit; a
    connection that cannot even do that (it broke) is closed, Django reconnects when it is next
    used. Never raises: the caller is already handling the error that matters."""
    try:
        wrapper.rollback()
        wrapper.set_autocommit(True)
    except Exception:  # noqa: BLE001
        logger.exception("rolling back a unit of work failed; closing its connection")
        wrapper.close()
