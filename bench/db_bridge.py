"""How should asyncio code reach the synchronous peewee repositories? Measure the options.

    .venv/bin/python bench/db_bridge.py

Each option fetches one API key row by primary key (the shape of the hot read) N times,
sequentially, from a coroutine, on a SQLite file in WAL mode:

* ``sync``: the call made directly on the event loop (blocks the loop: the floor, not an option);
* ``to_thread``: ``asyncio.to_thread`` (default executor);
* ``offloader``: ``dialcues_core.offload.Offloader`` (our bounded pool, connection per thread);
* ``pwasyncio``: peewee 4's ``playhouse.pwasyncio`` (aiosqlite under a greenlet bridge),
  when it imports here.

It also measures 64 concurrent callers through the offloader and to_thread, which is what a
loaded server does.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import ApiKeyRow
from dialcues_core.config import Settings

N = 5000


def fetch(key_id: str) -> str:
    """The measured unit: one primary-key read."""
    return str(ApiKeyRow.get_by_id(key_id).prefix)


async def timed(label: str, one: Callable[[], Awaitable[object]], n: int = N) -> float:
    """Run ``one`` n times in sequence; print and return µs per call."""
    started = time.perf_counter()
    for _ in range(n):
        await one()
    per_call = (time.perf_counter() - started) / n * 1e6
    print(f"{label:<28}{per_call:>8.0f} µs/call")
    return per_call


async def concurrent(label: str, one: Callable[[], Awaitable[object]], n: int = N) -> float:
    """Run n calls from 64 concurrent tasks; print and return calls/s."""

    async def worker() -> None:
        for _ in range(n // 64):
            await one()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(64)))
    rate = (n // 64) * 64 / (time.perf_counter() - started)
    print(f"{label:<28}{rate:>8.0f} calls/s (64 concurrent callers)")
    return rate


async def main() -> None:
    """Measure every option in one run."""
    with tempfile.TemporaryDirectory() as tmp:
        dc = Dialcues.open(
            settings=Settings(database_url=f"sqlite:///{tmp}/b.db", calling_window="off")
        )
        org = dc.accounts.create_organization("Bench")
        user = dc.accounts.create_user(org.id, "b@example.com", "B")
        key_id = dc.accounts.create_api_key(user.id).key.id
        offloader = dc.offloader(8)

        async def sync() -> str:
            return fetch(key_id)

        results = {
            "sync (blocks the loop)": await timed("sync (blocks the loop)", sync),
            "asyncio.to_thread": await timed(
                "asyncio.to_thread", lambda: asyncio.to_thread(fetch, key_id)
            ),
            "Offloader (8 threads)": await timed(
                "Offloader (8 threads)", lambda: offloader.run(fetch, key_id)
            ),
        }
        await pwasyncio_option(f"{tmp}/b.db", key_id)
        await concurrent("asyncio.to_thread", lambda: asyncio.to_thread(fetch, key_id))
        await concurrent("Offloader (8 threads)", lambda: offloader.run(fetch, key_id))
        offloader.shutdown()
        dc.close()
    base = results["sync (blocks the loop)"]
    print(
        "ratios to sync:",
        {k: round(v / base, 2) for k, v in results.items()},
        "median",
        round(statistics.median(results.values()), 1),
    )


async def pwasyncio_option(path: str, key_id: str) -> None:
    """Measure playhouse.pwasyncio if it is usable here (it needs aiosqlite and greenlet)."""
    try:
        from playhouse.pwasyncio import AsyncSqliteDatabase  # type: ignore[import-not-found]
    except ImportError as exc:
        print(f"{'playhouse.pwasyncio':<28} unavailable here ({exc})")
        return
    db = AsyncSqliteDatabase(path)
    try:
        async with db:
            with ApiKeyRow.bind_ctx(db):
                await timed("playhouse.pwasyncio", lambda: db.run(fetch, key_id), n=N // 2)
    except Exception as exc:  # report, do not hide: the option failed here
        print(f"{'playhouse.pwasyncio':<28} failed: {exc!r}")


if __name__ == "__main__":
    asyncio.run(main())
    # playhouse.pwasyncio leaves aiosqlite's worker thread running, which would keep the
    # interpreter from exiting; everything is measured and printed by now.
    os._exit(0)
