"""Issue 27, item 10: the in-memory attempt counter's check-and-take is atomic between threads.
Removing `with self._lock:` from `MemoryStore.reserve` passed the suite, because the window between
counting and appending is too narrow for threads to meet in by chance. Here they are made to meet
there: the store's bucket table pauses each thread right after it has counted, until the other
thread has counted too (or, with the lock held, until a short wait shows it cannot)."""

from __future__ import annotations

import contextlib
import threading

from app.services.support.throttle import MemoryStore, Window


class _MeetAfterCounting(dict):
    """Writing the trimmed bucket back happens after the count and before the append: wait there
    for the other thread. With the lock, the other thread cannot get there: the wait times out."""

    def __init__(self) -> None:
        super().__init__()
        self.barrier = threading.Barrier(2, timeout=0.5)

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        with contextlib.suppress(threading.BrokenBarrierError):
            self.barrier.wait()


def test_two_threads_never_both_take_the_last_slot():
    store = MemoryStore()
    store._entries = _MeetAfterCounting()
    window = [Window("login:account:x", limit=1, seconds=60, scope="account")]
    results: list[object] = []

    def attempt(member: str) -> None:
        results.append(store.reserve(window, member))

    threads = [threading.Thread(target=attempt, args=(f"m{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    taken = [r for r in results if r is None]
    assert len(results) == 2
    assert len(taken) == 1, results  # one slot, one taker; the other is told how long to wait
    assert len(dict.__getitem__(store._entries, "login:account:x")) == 1
