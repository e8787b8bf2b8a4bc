"""The deadline reaper: an exchange past its deadline is cut off; a released one is left alone and let go."""

from __future__ import annotations

import gc
import socket
import time
import weakref

from harness.answer_guard import DeadlineReaper


def test_a_released_watch_lets_its_socket_go_before_its_deadline() -> None:
    reaper = DeadlineReaper()
    left, right = socket.socketpair()
    gone = weakref.ref(left)
    item = reaper.watch(time.perf_counter() + 3600, left)
    reaper.release(item)
    left.close()
    del left
    gc.collect()
    assert gone() is None  # the heap still holds the watch for an hour, but not the socket
    assert item.done and not item.fired
    right.close()


def test_a_watch_past_its_deadline_shuts_its_socket_down() -> None:
    reaper = DeadlineReaper()
    left, right = socket.socketpair()
    try:
        item = reaper.watch(time.perf_counter(), left)
        left.settimeout(30)
        assert left.recv(1) == b""  # the blocked read ends: the reaper shut the socket down
        assert item.fired
    finally:
        left.close()
        right.close()
