"""Checkpoints of an `SQLiteStore`'s write-ahead log, off the path of its writes.

SQLite's own checkpoint runs inside the commit that takes the log past 1,000 pages: that
commit copies the logged pages into the database file before it returns, about a third of
a step's wall time on a run that writes without pause (docs/performance.md). The store
turns it off on its connection (`wal_autocheckpoint=0`) and leaves the work to this
thread, which has a connection of its own and runs while the writer goes on:

    every CHECKPOINT_EVERY_WRITES writes -> a PASSIVE checkpoint (never blocks a writer)
    a log past RESTART_ABOVE_PAGES       -> a RESTART checkpoint, so the log starts over
                                            (a writer waits for it at most RESTART_WAIT_MS)
    writes left over after IDLE_SECONDS   -> a PASSIVE checkpoint

What is durable does not change: a commit is in the log before it returns, as before, and
the log is synced at each checkpoint, as SQLite's own checkpoint does under
synchronous=NORMAL. The thread starts with the first checkpoint it is needed for (a store
that writes little never starts one); `close()` stops it, and closing the last connection
checkpoints what is left, as SQLite always does.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

logger = logging.getLogger(__name__)

CHECKPOINT_EVERY_WRITES = 1000
"""Writes (committed transactions) between two checkpoints of the log."""
RESTART_ABOVE_PAGES = 4096
"""A log longer than this many pages (16 MB of 4 KB pages) is checkpointed and started over:
a writer that never pauses would otherwise grow it without end, since SQLite starts a log
over only when a write begins with every page of it already copied."""
RESTART_WAIT_MS = 200
"""How long the RESTART checkpoint waits for readers and the writer (it holds writers back
meanwhile); when it cannot finish in that time the log grows until the next try."""
IDLE_SECONDS = 5.0
"""After writes stop, how long the last of them wait for their checkpoint."""


class Checkpointer:
    """Counts an SQLite store's writes and checkpoints its log in a daemon thread."""

    def __init__(self, path: str, *, enabled: bool = True) -> None:
        self.path = path
        self.checkpoints = 0
        """Checkpoints run so far (PASSIVE and RESTART), for tests and `repr`."""
        self._writes = 0
        self._checkpointed_at = 0
        self._wake = threading.Event()
        self._closed = not enabled  # ":memory:" has no log to checkpoint
        self._thread: threading.Thread | None = None
        self._pid = 0

    def __repr__(self) -> str:
        return f"Checkpointer({self.path!r}, writes={self._writes}, checkpoints={self.checkpoints})"

    def wrote(self) -> None:
        """One write committed (called under the store's lock): every CHECKPOINT_EVERY_WRITES,
        wakes the thread, starting it the first time (or again in a forked process)."""
        self._writes += 1
        if self._writes - self._checkpointed_at < CHECKPOINT_EVERY_WRITES or self._closed:
            return
        self._checkpointed_at = self._writes
        if self._thread is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run, name=f"triggerfish-checkpoint {self.path}", daemon=True
            )
            self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """Tells the thread to end after the checkpoint it may be running (no wait)."""
        self._closed = True
        self._wake.set()

    def close(self) -> None:
        """Stops the thread and waits for it."""
        self.stop()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join()

    def _run(self) -> None:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            logger.warning("SQLite %s: no background checkpoints (%s)", self.path, exc)
            return
        try:
            db.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
            done = -1  # the writes at the last checkpoint: the first wake has some
            while not self._closed:
                self._wake.wait(IDLE_SECONDS)
                self._wake.clear()
                if self._writes == done and not self._closed:
                    continue
                done = self._writes
                self._checkpoint(db)
        finally:
            db.close()

    def _checkpoint(self, db: sqlite3.Connection) -> None:
        try:
            _busy, pages, _copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
            if pages > RESTART_ABOVE_PAGES:
                db.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                self.checkpoints += 1
        except sqlite3.Error as exc:  # busy or a vanished file: the next wake tries again
            logger.debug("SQLite %s: checkpoint skipped (%s)", self.path, exc)
