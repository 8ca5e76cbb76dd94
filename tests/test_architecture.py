"""The house rules that keep the layout honest: a lazy package root, walls that deny by
default (a probe module breaks the build), and the public surface."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from dialcues_core import Dialcues
from dialcues_core.kernel.scopes import READ, WRITE, rate_class
from dialcues_grpc import deprecations, rpcs
from dialcues_grpc.server import PUBLIC_SERVICES
from dialcues_rest import routes
from dialcues_rest.auth import PUBLIC_PATHS

ROOT = Path(__file__).resolve().parent.parent


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


def test_the_package_root_offers_dialcues_its_runtime_and_its_version() -> None:
    import dialcues_core

    assert set(dialcues_core.__all__) == {"Dialcues", "Runtime", "__version__"}
    assert dialcues_core.Dialcues.__name__ == "Dialcues"
    assert dialcues_core.Runtime.__name__ == "Runtime"
    assert dialcues_core.__version__.count(".") == 2


def _lint_a_copy_with(tmp_path: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run import-linter over a copy of the tree with ``files`` (path -> source) added."""
    copy = tmp_path / "tree"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(".git", ".venv", "*.db", "__pycache__", ".*_cache"),
    )
    for relative, source in files.items():
        target = copy / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(copy)},
    )


def test_a_probe_module_importing_peewee_or_aiohttp_in_a_capability_breaks_the_build(
    tmp_path: Path,
) -> None:
    # The walls deny by default: a new module in a domain package that imports a framework
    # fails import-linter without anyone editing a list of modules.
    result = _lint_a_copy_with(
        tmp_path, {"dialcues_core/reminders/probe.py": "import aiohttp\nimport peewee\n"}
    )

    assert result.returncode != 0
    assert "dialcues_core.reminders.probe -> peewee" in result.stdout
    assert "dialcues_core.reminders.probe -> aiohttp" in result.stdout


def test_a_new_capability_no_layer_names_breaks_the_build(tmp_path: Path) -> None:
    # The layers are exhaustive: a new package (here a consent capability reaching for the
    # peewee adapter) is refused until pyproject.toml places it in a layer.
    result = _lint_a_copy_with(
        tmp_path,
        {
            "dialcues_core/consent/__init__.py": "",
            "dialcues_core/consent/records.py": "import dialcues_core.adapters.peewee\n",
        },
    )

    assert result.returncode != 0
    assert "dialcues_core.consent" in result.stdout


def test_every_rest_route_keeps_its_rate_class_now_its_use_case_decides(dc: Dialcues) -> None:
    # Before the admission path, REST charged by HTTP method: GET/HEAD read, else write.
    for route in routes.ROUTES:
        if route.path.startswith(routes.BASE + "/") and route.path not in PUBLIC_PATHS:
            expected = READ if route.method == "GET" else WRITE
            assert rate_class(routes.use_case_of(dc, route)) == expected, route


def test_every_public_rpc_has_a_use_case_and_keeps_its_rate_class(dc: Dialcues) -> None:
    # Before, gRPC charged by name: Get*/List*/Search*/WhoAmI read, every other RPC write.
    services = [service for _, service in PUBLIC_SERVICES.values()] + [deprecations.SERVICE]
    registered = {
        f"/{service}/{method.name}"
        for service in services
        for method in _descriptor(service).methods
    }
    assert registered == set(rpcs.USES)
    found = rpcs.use_cases(dc)
    for rpc in registered:
        name = rpc.rsplit("/", 1)[1]
        expected = READ if name.startswith(("Get", "List", "Search", "WhoAmI")) else WRITE
        assert rate_class(found[rpc]) == expected, rpc


def _descriptor(service: str) -> Any:
    from google.protobuf import descriptor_pool

    return descriptor_pool.Default().FindServiceByName(service)
