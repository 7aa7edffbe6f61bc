"""The structure of `app` (docs/architecture.md), checked so it cannot drift back.

1. Every module imports on its own, in a fresh interpreter. A module that only imports because
   something else was imported first hides a circular import that breaks the first script, CLI
   command or test that imports it alone.
2. Imports run only in the allowed directions (the layer table below), read from the source
   of every module, imports inside functions included: a new arrow back up fails here, naming
   the file, the line and the import. A view module never imports another view module.
3. Sizes: `app/services` holds at most 15 entries (a package counts as one), so a concept is
   found by its folder, and no module of `app` is longer than 600 lines.
"""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tests

ROOT = Path(tests.ROOT)
APP = ROOT / "app"


def app_modules() -> list[str]:
    """Every module and package of `app`, found on disk (pkgutil, nothing imported)."""
    found = ["app"]

    def walk(path: Path, prefix: str) -> None:
        for info in pkgutil.iter_modules([str(path)]):
            name = f"{prefix}.{info.name}"
            found.append(name)
            if info.ispkg:
                walk(path / info.name, name)

    walk(APP, "app")
    return sorted(found)


def module_file(name: str) -> Path:
    path = ROOT.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


# --------------------------------------------------------------------------------------------
# 1. Every module imports alone

# Run in one fresh interpreter: a first child imports all of `app` and reports which other
# modules that loaded (the libraries); the parent imports those libraries only (never a module of
# `app`), then forks once per module of `app` (as many at once as there are cores), and each
# child imports just that module. A child starts with no module of `app` loaded, exactly like
# `python -c "import app.x"`, but without paying for Flask and SQLAlchemy 100 times (that took
# ~2 minutes on 2 cores; this takes seconds).
_IMPORT_ALONE = textwrap.dedent(
    """
    import importlib, json, os, sys, traceback

    modules, package = json.loads(sys.argv[1]), sys.argv[2]

    def ours(name):
        return name == package or name.startswith(package + ".")

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        for name in modules:
            try:
                importlib.import_module(name)
            except BaseException:
                pass
        libraries = [n for n in list(sys.modules) if not ours(n) and n != "__main__"]
        with os.fdopen(write, "w") as out:
            json.dump(libraries, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as incoming:
        libraries = json.load(incoming)
    os.waitpid(pid, 0)
    for name in libraries:
        try:
            importlib.import_module(name)
        except BaseException:
            pass  # a library's private module that does not import alone: its package did
    assert not any(ours(n) for n in sys.modules), "a library imported " + package

    failures = {}
    running = {}  # pid -> (module, read end of its pipe)
    width = max(1, os.cpu_count() or 1)

    def reap():
        pid, _status = os.wait()
        name, fd = running.pop(pid)
        with os.fdopen(fd) as incoming:
            message = incoming.read()  # short (a trimmed traceback): fits the pipe, never blocks
        if message:
            failures[name] = message

    for name in modules:
        if len(running) >= width:
            reap()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                importlib.import_module(name)
                message = ""
            except BaseException:
                message = traceback.format_exc(limit=-6)[-4000:]
            with os.fdopen(write, "w") as out:
                out.write(message)
            os._exit(0)
        os.close(write)
        running[pid] = (name, read)
    while running:
        reap()
    print(json.dumps(failures))
    """
)


def modules_failing_alone(modules: list[str], package: str, where: Path) -> dict[str, str]:
    """{module: traceback} for each of `modules` that fails to import alone (run from `where`)."""
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALONE, json.dumps(modules), package],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks one child per module")
def test_every_module_imports_alone_in_a_fresh_interpreter():
    modules = app_modules()
    assert len(modules) > 50  # the walk found the package, not an empty folder
    failures = modules_failing_alone(modules, "app", ROOT)
    assert not failures, "modules that fail to import alone:\n" + "\n".join(
        f"--- {name}\n{message}" for name, message in failures.items()
    )


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks one child per module")
def test_a_circular_import_is_caught(tmp_path):
    """The check is not vacuous: the shape of the cycle this test was written for (a service
    importing a blueprint whose package imports its views, which import the service) fails when
    the service is imported first, and only then."""
    package = tmp_path / "circle"
    (package / "bp").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "service.py").write_text("from circle.bp.tokens import add\nLIMIT = 8\n")
    (package / "bp" / "__init__.py").write_text("from circle.bp import views\n")
    (package / "bp" / "tokens.py").write_text("def add():\n    return 1\n")
    (package / "bp" / "views.py").write_text("from circle.service import LIMIT\n")
    failures = modules_failing_alone(["circle.service", "circle.bp.tokens"], "circle", tmp_path)
    assert list(failures) == ["circle.service"]
    assert "partially initialized module 'circle.service'" in failures["circle.service"]


# --------------------------------------------------------------------------------------------
# 2. Allowed import directions

# Layers, bottom up. A module belongs to the first layer whose prefix names it (longest wins).
BLUEPRINTS = ("app.api", "app.auth", "app.embed", "app.players", "app.public", "app.staff")
LAYERS: dict[str, tuple[str, ...]] = {
    # Plain building blocks: settings, extensions, errors, text and time helpers, signals.
    "base": (
        "app.config",
        "app.database",
        "app.errors",
        "app.extensions",
        "app.mailer",
        "app.money",
        "app.signals",
        "app.signing",
        "app.text",
        "app.timestamps",
    ),
    # Tables and the rules that are part of the data (scoring presets, the audit row).
    "models": ("app.models", "app.scoring", "app.auditing"),
    # Domain rules: what may happen, checked and written; they send signals.
    "services": ("app.services",),
    # Listens to the signals and writes the outbox; the worker delivers it.
    "notifications": ("app.notifications",),
    # Request plumbing every blueprint shares (live responses, page or fragment, headers, hosts).
    "web": (
        "app.canonical",
        "app.confirmation",
        "app.health",
        "app.hosts",
        "app.http_errors",
        "app.live",
        "app.rendering",
        "app.routing",
        "app.security",
        "app.visibility",
    ),
    "blueprints": BLUEPRINTS,
    "cli": ("app.cli",),
    "factory": ("app",),
}

# What each layer may import besides itself (arrows point down only).
ALLOWED: dict[str, set[str]] = {
    "base": set(),
    "models": {"base"},
    "services": {"base", "models"},
    "notifications": {"base", "models"},
    "web": {"base", "models", "services"},
    "blueprints": {"base", "models", "services", "notifications", "web"},
    "cli": {"base", "models", "services", "notifications"},
    "factory": {"base", "models", "services", "notifications", "web", "blueprints", "cli"},
}


def layer_of(module: str) -> str:
    best, best_length = None, -1
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = layer, len(prefix)
    assert best is not None, f"{module} belongs to no layer: add it to LAYERS in tests/structure/test_structure.py"
    return best


def is_view_module(module: str) -> bool:
    """A module of views: `views` or `*_views` (the routes); helpers beside them are not."""
    last = module.rpartition(".")[2]
    return last == "views" or last.endswith("_views")


def blueprint_of(module: str) -> str | None:
    return next((bp for bp in BLUEPRINTS if module == bp or module.startswith(bp + ".")), None)


def imports_of(module: str, source: str | None = None) -> list[tuple[int, str]]:
    """(line, imported module) for every import of `app` in the module's source, at any depth.
    `from app.x import y` yields `app.x.y` when y is a module, else `app.x`."""
    path = module_file(module)
    if source is None:
        source = path.read_text(encoding="utf-8")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            for alias in node.names:
                candidate = f"{origin}.{alias.name}"
                found.append((node.lineno, candidate if module_file(candidate).exists() else origin))
    return [(line, name) for line, name in found if name == "app" or name.startswith("app.")]


def arrows_back_up(extra: dict[str, str] | None = None) -> list[str]:
    """Every import against the table; `extra` adds modules (name: source) not on disk."""
    sources: dict[str, str | None] = dict.fromkeys(app_modules())
    sources.update(extra or {})
    wrong = []
    for module, source in sources.items():
        here = layer_of(module)
        for line, target in imports_of(module, source):
            there = layer_of(target)
            where = f"{module_file(module).relative_to(ROOT)}:{line}: {module} imports {target}"
            if there != here and there not in ALLOWED[here]:
                wrong.append(f"{where} ({here} may not import {there})")
            elif here == there == "blueprints" and blueprint_of(module) != blueprint_of(target):
                wrong.append(f"{where} (a blueprint imports another blueprint: share it through a service or app/)")
            elif is_view_module(module) and is_view_module(target) and module != target:
                wrong.append(f"{where} (a view module imports another view module: move the shared piece down)")
    return list(dict.fromkeys(wrong))  # one line per import, however many names it brings


def test_imports_run_only_down_the_layers():
    wrong = arrows_back_up()
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(wrong)


def test_the_layer_check_sees_an_arrow_back_up():
    """The check is not vacuous: a service importing a blueprint, a notification module
    importing a service (inside a function), a model importing a service, and a blueprint
    importing another's views are each reported, naming file, line and import."""
    wrong = "\n".join(
        arrows_back_up(
            {
                "app.services.probe": "from app.auth import views\n",
                "app.notifications.probe": "def later():\n    from app.services.accounts import users\n",
                "app.models": "import app.services.audit\n",
                "app.embed.probe": "from app.public.views import index\n",
            }
        )
    )
    assert (
        "app/services/probe.py:1: app.services.probe imports app.auth.views (services may not import blueprints)"
        in wrong
    )
    assert "app/notifications/probe.py:2: app.notifications.probe imports app.services.accounts.users" in wrong
    assert "app/models/__init__.py:1: app.models imports app.services.audit (models may not import services)" in wrong
    assert "app/embed/probe.py:1: app.embed.probe imports app.public.views (a blueprint imports another" in wrong


def test_the_layer_check_sees_a_view_importing_another_view():
    """Views never import other views, at the top or inside a function; a helper module beside
    them (forms, pages, common) may be imported by any of them."""
    wrong = "\n".join(
        arrows_back_up(
            {
                "app.staff.probe_views": "def later():\n    from app.staff.lobby_views import lobbies_list\n",
                "app.staff.other_probe_views": "from app.staff import views\n",
                "app.staff.helper_probe": "from app.staff.lobby_views import lobbies_list\n",
                "app.staff.fine_probe_views": "from app.staff.pages import lobbies_page\n",
            }
        )
    )
    assert (
        "app/staff/probe_views.py:2: app.staff.probe_views imports app.staff.lobby_views "
        "(a view module imports another view module: move the shared piece down)" in wrong
    )
    assert "app/staff/other_probe_views.py:1: app.staff.other_probe_views imports app.staff.views" in wrong
    assert "helper_probe" not in wrong
    assert "fine_probe_views" not in wrong


def test_layers_name_every_module():
    for module in app_modules():
        layer_of(module)  # raises for a module no layer names


# --------------------------------------------------------------------------------------------
# 3. Sizes

MAX_SERVICE_ENTRIES = 15
MAX_MODULE_LINES = 600


def service_entries() -> list[str]:
    return sorted(
        p.name
        for p in (APP / "services").iterdir()
        if p.name != "__init__.py"
        and not p.name.startswith((".", "__pycache__"))
        and (p.suffix == ".py" or (p / "__init__.py").exists())
    )


def long_modules(limit: int = MAX_MODULE_LINES) -> list[str]:
    too_long = []
    for path in sorted(APP.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    return too_long


def test_services_hold_at_most_fifteen_entries():
    entries = service_entries()
    assert len(entries) <= MAX_SERVICE_ENTRIES, f"app/services has {len(entries)} entries: {entries}"


def test_no_module_is_longer_than_six_hundred_lines():
    assert not long_modules(), "split these by concept:\n" + "\n".join(long_modules())


def test_the_size_checks_see_a_long_module():
    """Not vacuous: with a lower limit the longest modules are named, with their length."""
    named = long_modules(limit=300)
    assert named and all(" lines" in line and line.startswith("app/") for line in named)
    assert 5 <= len(service_entries()) <= MAX_SERVICE_ENTRIES
