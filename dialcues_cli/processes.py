"""Long-running commands: ``serve`` (REST, gRPC, dispatcher) and ``worker`` (dispatcher only)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dialcues_cli.demo import DemoTenant, seed_demo
from dialcues_core import Dialcues
from dialcues_core.config import Settings
from dialcues_core.errors import ValidationFailed
from dialcues_core.offload import Offloader

Common = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
log = logging.getLogger("dialcues")
T = TypeVar("T")
USAGE_FLUSH_SECONDS = 5.0
IDEMPOTENCY_SWEEP_SECONDS = 60.0


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


def configure_logging(settings: Settings) -> None:
    """Send logs to stderr at ``DIALCUES_LOG_LEVEL``."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the APIs (and dispatch) until SIGINT/SIGTERM."""
    settings = settings.replace(host=args.host, rest_port=args.rest_port, grpc_port=args.grpc_port)
    configure_logging(settings)
    dc = Dialcues.open(settings=settings)
    demo = seed_demo(dc) if dc.accounts.is_empty() else None
    asyncio.run(_serve(dc, settings, dispatch=not args.no_dispatcher, demo=demo))
    return 0


def worker_command(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch until SIGINT/SIGTERM (several workers may share one database)."""
    configure_logging(settings)
    dc = Dialcues.open(settings=settings)
    asyncio.run(_work(dc))
    return 0


async def _serve(dc: Dialcues, settings: Settings, dispatch: bool, demo: DemoTenant | None) -> None:
    from dialcues_grpc.server import start_grpc
    from dialcues_rest.app import create_app, start_rest
    from dialcues_rest.provider_events import add_provider_routes

    offloader = dc.offloader()
    app = create_app(dc, offloader, dispatching=dispatch)
    add_provider_routes(app, dc.attempts(), offloader)
    runner = await _bound("rest_port", start_rest(app, settings.host, settings.rest_port))
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
    async with _background(dc, offloader, dispatch):
        await _until_signalled()
    await grpc_server.stop(5)
    await runner.cleanup()
    offloader.shutdown()


async def _bound(setting: str, starting: Awaitable[T]) -> T:
    """Await a server's start; a port that cannot be bound is a one-line ``validation_error``."""
    try:
        return await starting
    except (OSError, OverflowError, RuntimeError) as exc:
        raise ValidationFailed.one(setting, f"cannot be bound ({exc})") from None


async def _work(dc: Dialcues) -> None:
    offloader = dc.offloader()
    async with _background(dc, offloader, dispatch=True):
        await _until_signalled()
    offloader.shutdown()


@contextlib.asynccontextmanager
async def _background(dc: Dialcues, offloader: Offloader, dispatch: bool) -> Any:
    """Run the dispatcher and the key-usage flusher; stop them cleanly."""
    dispatcher = dc.dispatcher(offloader) if dispatch else None
    tasks = [asyncio.create_task(_flush_usage(dc, offloader))]
    if dispatcher is not None:
        tasks.append(asyncio.create_task(dispatcher.run()))
        log.info("dispatcher running")
    try:
        async with _delivering(dc, offloader, dispatch), _sweeping_idempotency_keys(dc, offloader):
            yield
    finally:
        if dispatcher is not None:
            await dispatcher.stop()
            await tasks[1]
            for dialer in dispatcher.dialers.values():
                await dialer.close()
        tasks[0].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[0]
        await offloader.run(dc.authenticator.flush_usage)
        # Usage events: the REST app writes them every second and at its cleanup, which
        # ``_serve`` runs after stopping gRPC, so the RPCs of the grace period are kept too.
        await offloader.run(dc.usage.flush)


@contextlib.asynccontextmanager
async def _delivering(dc: Dialcues, offloader: Offloader, dispatch: bool) -> Any:
    """Run the webhook deliverer beside the dispatcher; stop it cleanly."""
    if not dispatch:
        yield
        return
    deliverer = dc.deliverer(offloader)
    task = asyncio.create_task(deliverer.run())
    log.info("webhook deliverer running")
    try:
        yield
    finally:
        await deliverer.stop()
        await task


@contextlib.asynccontextmanager
async def _sweeping_idempotency_keys(dc: Dialcues, offloader: Offloader) -> Any:
    """Delete idempotency keys past their 24 hours every minute while the block runs."""

    async def sweep() -> None:
        while True:
            await asyncio.sleep(IDEMPOTENCY_SWEEP_SECONDS)
            try:
                await offloader.run(dc.idempotency.sweep)
            except Exception:
                log.exception("sweeping idempotency keys failed")

    task = asyncio.create_task(sweep())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _flush_usage(dc: Dialcues, offloader: Offloader) -> None:
    while True:
        await asyncio.sleep(USAGE_FLUSH_SECONDS)
        try:
            await offloader.run(dc.authenticator.flush_usage)
        except Exception:
            log.exception("writing API key usage failed")


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
