"""Run synchronous core calls from asyncio code without blocking the event loop.

The repositories are synchronous peewee; the asyncio edges (REST, gRPC, the dispatcher) call
them through one :class:`Offloader`: a bounded thread pool, each thread with its own database
connection. Measured against ``playhouse.pwasyncio`` and plain ``asyncio.to_thread`` in
``bench/db_bridge.py`` (figures in ``bench/README.md``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class Offloader:
    """A thread pool for database work, awaited from the event loop."""

    def __init__(
        self,
        threads: int = 8,
        name: str = "dialcues-db",
        on_thread_exit: Callable[[], None] | None = None,
    ):
        self._threads = threads
        self._on_thread_exit = on_thread_exit
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)

    async def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``fn(*args, **kwargs)`` on the pool and return its result (or raise its error)."""
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args, **kwargs) if kwargs else functools.partial(fn, *args)
        # in the caller's context: what an edge set for its request (its id) reaches the core
        return await loop.run_in_executor(self._pool, contextvars.copy_context().run, call)

    def shutdown(self) -> None:
        """Wait for running calls, run ``on_thread_exit`` once in every thread, stop them."""
        if self._on_thread_exit is not None:
            # A barrier as wide as the pool makes each thread take exactly one farewell task
            # (each thread's database connection is its own and must be closed there).
            barrier = threading.Barrier(self._threads)
            farewell = self._on_thread_exit

            def leave() -> None:
                barrier.wait()
                farewell()

            for future in [self._pool.submit(leave) for _ in range(self._threads)]:
                future.result()
        self._pool.shutdown(wait=True)


class LoopThread:
    """One asyncio event loop on a daemon thread, for synchronous code that must await.

    The carrier ports are asyncio (aiohttp clients); the number use cases are synchronous
    like every other use case (they run on the :class:`Offloader`'s threads, in the CLI and
    in host apps). They reach the carriers through :meth:`run`, so each adapter's HTTP
    session lives on this one loop whoever calls.
    """

    def __init__(self, name: str = "dialcues-carriers"):
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, coro: Coroutine[Any, Any, R], timeout: float | None = None) -> R:
        """Run ``coro`` on the loop (started on first use) and wait for its result or error."""
        future = asyncio.run_coroutine_threadsafe(coro, self._started())
        return future.result(timeout)

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name=self._name, daemon=True
                )
                self._thread.start()
            return self._loop

    def stop(self) -> None:
        """Stop the loop and its thread (if it ever started)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()
