"""Long-running commands: ``serve`` (REST, gRPC, dispatcher) and ``worker`` (dispatcher only)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dialcues_cli.demo import DemoTenant, seed_demo
from dialcues_core import Dialcues
from dialcues_core.config import Settings
from dialcues_core.errors import StorageUnavailable, ValidationFailed
from dialcues_core.offload import Offloader
from dialcues_core.runtime import Runtime

Common = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
log = logging.getLogger("dialcues")
T = TypeVar("T")


def add_commands(commands: Any, common: Common) -> None:
    """Register ``serve`` and ``worker``."""
    serve = common(commands.add_parser("serve", help="run the REST and gRPC APIs and a dispatcher"))
    serve.add_argument("--host")
    serve.add_argument("--rest-port", type=int)
    serve.add_argument("--grpc-port", type=int)
    serve.add_argument("--no-dispatcher", action="store_true")
    serve.set_defaults(handler=serve_command)
    worker = common(commands.add_parser("worker", help="run a dispatcher alone"))
    worker.set_defaults(handler=worker_command)


DATABASE_LOST_EXIT = 75
"""Exit status of a dispatching process that lost its database (EX_TEMPFAIL: restart me)."""


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the APIs (and dispatch) until SIGINT/SIGTERM, or until the database is lost."""
    settings = settings.replace(host=args.host, rest_port=args.rest_port, grpc_port=args.grpc_port)
    dc = Dialcues.open(settings=settings)
    demo = seed_demo(dc) if dc.accounts.is_empty() else None
    lost = asyncio.run(_serve(dc, settings, dispatch=not args.no_dispatcher, demo=demo))
    return _exit_status("serve", lost)


def worker_command(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch until SIGINT/SIGTERM, or until the database is lost (several may share one)."""
    dc = Dialcues.open(settings=settings)
    lost = asyncio.run(_work(dc, settings))
    return _exit_status("worker", lost)


def _exit_status(command: str, lost: str) -> int:
    """0 after a requested stop; after a lost database, one line on stderr and 75."""
    if not lost:
        return 0
    sys.stderr.flush()
    print(f"dialcues {command}: exiting: {lost}", file=sys.stderr, flush=True)
    return DATABASE_LOST_EXIT


async def _serve(dc: Dialcues, settings: Settings, dispatch: bool, demo: DemoTenant | None) -> str:
    from dialcues_grpc.server import start_grpc
    from dialcues_rest.app import create_app, start_rest
    from dialcues_rest.provider_events import add_provider_routes

    offloader = dc.offloader()
    # the simulated carrier's inventory tables (~0.4 s), built now rather than by a request
    await asyncio.to_thread(dc.carriers.simulated.warm_up)
    app = create_app(dc, offloader, dispatching=dispatch)
    add_provider_routes(app, dc, offloader)
    grace = _grace(settings)
    runner = await _bound(
        "rest_port", start_rest(app, settings.host, settings.rest_port, shutdown_timeout=grace)
    )
    log.info("REST API on http://%s:%d/api/public/v1", settings.host, settings.rest_port)
    try:
        grpc_server, grpc_port = await _bound(
            "grpc_port",
            start_grpc(dc, offloader, settings.host, settings.grpc_port, settings.admin_token),
        )
    except BaseException:
        await runner.cleanup()
        raise
    log.info("gRPC on %s:%d", settings.host, grpc_port)
    if demo is not None:
        print(demo.banner(settings), flush=True)

    async def stop_serving() -> None:
        # Stop accepting; requests and RPCs in flight finish within the grace period.
        await asyncio.gather(grpc_server.stop(grace), runner.cleanup())

    return await _run_until_stopped("serve", dc, offloader, settings, dispatch, stop_serving)


async def _work(dc: Dialcues, settings: Settings) -> str:
    offloader = dc.offloader()
    return await _run_until_stopped("worker", dc, offloader, settings, True, None)


async def _run_until_stopped(
    command: str,
    dc: Dialcues,
    offloader: Offloader,
    settings: Settings,
    dispatch: bool,
    stop_serving: Callable[[], Awaitable[None]] | None,
) -> str:
    """Run the runtime until a signal or a lost database; stop within the shutdown budget.

    Returns why the database was lost (empty after a requested stop). On the way out: stop
    claiming and stop accepting together; requests and creates in flight finish; claimed
    attempts never sent are released; pending usage is written. Each step is bounded by a
    share of ``DIALCUES_SHUTDOWN_SECONDS``; one that outlasts it is abandoned with a warning.
    """
    runtime = Runtime(dc, offloader, dispatch=dispatch)
    await runtime.start()
    try:
        await _until_signalled_or(runtime.lost)
    finally:
        lost = runtime.reason if runtime.lost.is_set() else ""
        deadline = _Deadline(settings.shutdown_seconds, command, lost)
        stopping: list[Awaitable[None]] = [runtime.stop_claiming()]
        if stop_serving is not None:
            stopping.append(stop_serving())
        await _within(deadline.left(2.0), asyncio.gather(*stopping), "stopping")
        await _within(deadline.left(1.0), runtime.close(), "draining and writing usage")
        await _within(deadline.left(0.0), asyncio.to_thread(offloader.shutdown), "closing")
        deadline.disarm()
    return lost


class _Deadline:
    """The shutdown budget: what each step may still take, and a hard stop behind it all.

    Each step is cooperative (bounded, then abandoned with a warning), but a thread blocked on
    an unresponsive database cannot be cancelled: if the process is still here half a second
    after the budget, a timer thread ends it (with the status it would have had), so a
    supervisor's SIGTERM is always honoured in time.
    """

    def __init__(self, seconds: float, command: str, lost: str):
        self._end = time.monotonic() + seconds
        self._timer = threading.Timer(seconds + 0.5, _hard_stop, (seconds, command, lost))
        self._timer.daemon = True
        self._timer.start()

    def left(self, reserve: float) -> float:
        """Seconds until the deadline, keeping ``reserve`` for the steps after this one."""
        return max(0.05, self._end - time.monotonic() - reserve)

    def disarm(self) -> None:
        """Every step finished in time: no hard stop."""
        self._timer.cancel()


def _hard_stop(seconds: float, command: str, lost: str) -> None:
    log.warning("shutdown: still running %.1f s after the signal; exiting now", seconds)
    logging.shutdown()
    status = _exit_status(command, lost)  # prints the one line of a lost database
    os._exit(status)


def _grace(settings: Settings) -> float:
    """Seconds requests in flight may take once a stop was asked."""
    return max(0.5, 0.5 * settings.shutdown_seconds)


async def _within(seconds: float, work: Awaitable[Any], what: str) -> None:
    """Await ``work`` for at most ``seconds``; a timeout or an outage is a warning."""
    try:
        await asyncio.wait_for(work, timeout=seconds)
    except TimeoutError:
        log.warning("shutdown: %s took longer than %.0f s; going on", what, seconds)
    except StorageUnavailable as exc:
        log.warning("shutdown: %s failed: the database is unavailable (%s)", what, exc.detail)
    except Exception:
        log.exception("shutdown: %s failed", what)


async def _bound(setting: str, starting: Awaitable[T]) -> T:
    """Await a server's start; a port that cannot be bound is a one-line ``validation_error``."""
    try:
        return await starting
    except (OSError, OverflowError, RuntimeError) as exc:
        raise ValidationFailed.one(setting, f"cannot be bound ({exc})") from None


async def _until_signalled_or(lost: asyncio.Event) -> None:
    """Wait for SIGINT/SIGTERM, or for the database to be lost."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()
    log.info("shutting down" if stop.is_set() else "the database is lost; shutting down")
