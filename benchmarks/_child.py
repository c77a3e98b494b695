"""Run one measured step in a child process, so that its peak memory is its own."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from queue import Empty
from typing import Any


def run_in_child(target: Callable[..., None], *args: object) -> tuple[Any, ...]:
    """Call ``target(*args, queue)`` in a fresh (spawned) process and return what it put on the queue."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    while True:
        try:
            result = queue.get(timeout=1.0)
            break
        except Empty:
            if not process.is_alive():
                raise SystemExit(
                    f"the measured step failed (exit code {process.exitcode}); see above"
                ) from None
    process.join()
    return tuple(result)
