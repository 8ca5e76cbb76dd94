"""The house rules that keep the layout honest: a lazy package root, walls that deny by
default (a probe module breaks the build), and the public surface."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_errors_loads_no_database_http_or_grpc_library() -> None:
    code = (
        "import sys, dialcues_core.errors, dialcues_core.config;"
        "print(sorted(m for m in ('peewee', 'playhouse', 'aiohttp', 'grpc', 'psycopg')"
        " if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert loaded == "[]"


def test_the_package_root_offers_dialcues_and_its_version() -> None:
    import dialcues_core

    assert set(dialcues_core.__all__) == {"Dialcues", "__version__"}
    assert dialcues_core.Dialcues.__name__ == "Dialcues"
    assert dialcues_core.__version__.count(".") == 2
