"""The configuration in deploy/ is checked without starting the topology (tests/cluster/ does that):

- the systemd units pass `systemd-analyze verify` (configparser where systemd is missing) with the
  paths of /srv/deltacrown pointed at this checkout, and their commands exist: gunicorn's
  config file and app (`wsgi:app`), the worker's `flask --app wsgi worker --name ...`;
- the web unit and deploy/cluster.py get the same gunicorn settings from deploy/gunicorn.conf.py
  except the port and the worker count, and the unit's stop timeout outlasts gunicorn's drain;
- every key of deploy/deltacrown.env.example is a setting app/config.py reads (found by asking its
  loader, not from a list copied here), its value converts, and the settings production needs
  are in it;
- nginx's site, rendered by deploy/cluster.py's renderer, passes `nginx -t`.
"""

from __future__ import annotations

import configparser
import importlib.util
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tests
from app import create_app
from app.config import DEFAULTS, from_environment

ROOT = Path(tests.ROOT)
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
WEB_UNIT = DEPLOY / "systemd" / "deltacrown-web@.service"
WORKER_UNIT = DEPLOY / "systemd" / "deltacrown-worker@.service"
ENV_EXAMPLE = DEPLOY / "deltacrown.env.example"
INSTALL_DIR = "/srv/deltacrown"  # where the units expect the code (README, "Recipe for real hosts")
ENV_FILE = "/etc/deltacrown/deltacrown.env"
# What a production host cannot do without: secrets, where the data is, where users reach the
# site and by which names, the shared limits' store, the proxy in front, and the bounded waits.
REQUIRED = {
    "SECRET_KEY",
    "DATABASE_URL",
    "PUBLIC_BASE_URL",
    "ALLOWED_HOSTS",
    "RATELIMIT_STORAGE_URI",
    "TRUSTED_PROXY_COUNT",
    "DB_CONNECT_TIMEOUT",
    "DB_STATEMENT_TIMEOUT",
    "REDIS_TIMEOUT",
}


def _cluster_module():
    """deploy/cluster.py as a module (it is a script, not in a package)."""
    if "deploy_cluster" not in sys.modules:
        spec = importlib.util.spec_from_file_location("deploy_cluster", DEPLOY / "cluster.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["deploy_cluster"] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules["deploy_cluster"]


def _unit(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    parser.optionxform = str  # systemd keys are case-sensitive
    # systemd continues a line ending in a backslash; configparser continues indented lines.
    parser.read_string(path.read_text().replace("\\\n", " \n"))
    return parser


def _exec_start(path: Path, instance: str) -> list[str]:
    """ExecStart as argv, with the instance (%i) and host (%H) filled in and /srv/deltacrown
    pointed at this checkout."""
    line = " ".join(_unit(path)["Service"]["ExecStart"].split())
    line = line.replace("%i", instance).replace("%H", "host").replace(INSTALL_DIR, str(ROOT))
    return shlex.split(line)


# --------------------------------------------------------------------------- systemd units


def test_the_units_parse_and_name_the_files_the_recipe_installs():
    assert {p.name for p in UNITS} == {WEB_UNIT.name, WORKER_UNIT.name}
    for path in UNITS:
        unit = _unit(path)
        assert set(unit.sections()) == {"Unit", "Service", "Install"}, path.name
        service = unit["Service"]
        assert service["WorkingDirectory"] == INSTALL_DIR
        assert service["EnvironmentFile"] == ENV_FILE
        assert service["Restart"] == "always" and service["KillMode"] == "mixed"
        # The code's own virtualenv (README: `pip install -e ".[prod]"` in /srv/deltacrown/.venv).
        executable = Path(_exec_start(path, "1")[0])
        assert executable.parent == ROOT / ".venv" / "bin" and executable.name in {"gunicorn", "flask"}
    # The example says where it goes, and that is where the units read it.
    assert ENV_FILE in ENV_EXAMPLE.read_text().splitlines()[0]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", [WEB_UNIT, WORKER_UNIT], ids=lambda p: p.name)
def test_systemd_analyze_verifies_the_units(unit, tmp_path):
    """systemd's own parser: unknown keys, bad values and missing executables are reported.
    The code's paths point at this checkout (its .venv has gunicorn and flask)."""
    venv_bin = ROOT / ".venv" / "bin"
    if not (venv_bin / "gunicorn").exists():
        pytest.skip("no .venv in this checkout (make install)")
    text = unit.read_text().replace(INSTALL_DIR, str(ROOT)).replace(ENV_FILE, str(ENV_EXAMPLE))
    # A template unit is verified as an instance of it.
    instance = tmp_path / unit.name.replace("@.", "@8001.")
    instance.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(instance)], capture_output=True, text=True, timeout=60
    )
    about_ours = [line for line in (result.stdout + result.stderr).splitlines() if instance.name in line]
    assert result.returncode == 0 and not about_ours, result.stdout + result.stderr


def test_the_worker_unit_runs_the_delivery_worker_command(monkeypatch, tmp_path):
    argv = _exec_start(WORKER_UNIT, "1")
    assert Path(argv[0]).name == "flask" and argv[1:3] == ["--app", "wsgi"]
    assert (ROOT / f"{argv[2]}.py").exists()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    import click

    with app.app_context():
        command = app.cli.get_command(click.Context(app.cli), argv[3])
        assert command is not None, f"`flask {argv[3]}` is not a command"
        # Parses the unit's options as the command would (an unknown option is a UsageError).
        context = command.make_context(argv[3], argv[4:])
    assert context.params["name"] == "host:worker-1"


# --------------------------------------------------------------------------- gunicorn


def _gunicorn(argv: list[str], monkeypatch):
    """gunicorn's effective configuration for a command line, as `gunicorn` would build it
    (config file, then the command line), without starting anything."""
    from gunicorn.app.wsgiapp import WSGIApplication

    assert Path(argv[0]).name == "gunicorn"
    monkeypatch.setattr(sys, "argv", ["gunicorn", *argv[1:]])
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "path", list(sys.path))  # gunicorn adds its chdir to it
    monkeypatch.delitem(sys.modules, "__config__", raising=False)
    application = WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]")
    return application, {name: setting.value for name, setting in application.cfg.settings.items()}


def test_the_web_unit_and_the_cluster_share_gunicorns_settings(monkeypatch):
    unit_argv = _exec_start(WEB_UNIT, "8001")
    # The unit names the shared file and its port, nothing else: every other setting is the file's.
    assert unit_argv[1:] == ["-c", str(DEPLOY / "gunicorn.conf.py"), "--bind", "127.0.0.1:8001"]
    cluster = _cluster_module()
    assert cluster.GUNICORN_CONF == DEPLOY / "gunicorn.conf.py"
    unit_app, unit = _gunicorn(unit_argv, monkeypatch)
    cluster_app, ours = _gunicorn(cluster.gunicorn_argv(8001, 2), monkeypatch)
    assert unit_app.app_uri == cluster_app.app_uri == "wsgi:app"
    differ = {name for name in unit if unit[name] != ours[name]}
    assert differ == {"workers"}, {name: (unit[name], ours[name]) for name in differ}
    assert unit["bind"] == ["127.0.0.1:8001"] and unit["workers"] == 4 and ours["workers"] == 2
    assert unit["preload_app"] and unit["control_socket_disable"]
    assert unit["timeout"] == 30 and unit["keepalive"] == 5
    # systemd kills what is still running after TimeoutStopSec: gunicorn's drain must end first.
    stop_after = float(_unit(WEB_UNIT)["Service"]["TimeoutStopSec"])
    assert unit["graceful_timeout"] < stop_after


def test_wsgi_app_is_the_flask_app(monkeypatch, tmp_path):
    from gunicorn import util

    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.delitem(sys.modules, "wsgi", raising=False)
    monkeypatch.syspath_prepend(str(ROOT))
    try:
        app = util.import_app("wsgi:app")
    finally:
        sys.modules.pop("wsgi", None)
    assert app.name == "app" and app.config["SECRET_KEY"] == "x" * 64
    assert "/readyz" in {rule.rule for rule in app.url_map.iter_rules()}


# --------------------------------------------------------------------------- environment file


def _example() -> dict[str, str]:
    values = {}
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and key == key.strip() and key.isupper(), f"line {number}: not KEY=value: {line!r}"
        assert key not in values, f"line {number}: {key} set twice"
        values[key] = value
    return values


def test_every_key_in_the_example_environment_is_a_setting_the_app_reads():
    example = _example()
    for key, value in example.items():
        # The app's own loader: a key it does not read is dropped (a typo would be silently
        # ignored in production); one it reads must convert (a ConfigError names it otherwise).
        assert key in from_environment({key: value}), f"{key} is not read by app/config.py"
    assert set(from_environment(example)) == set(example)
    # And the loader reads nothing that is not a documented setting.
    assert set(from_environment({key: "1" for key in DEFAULTS})) <= set(DEFAULTS)


def test_the_example_environment_has_what_production_needs():
    example = _example()
    missing = REQUIRED - set(example)
    assert not missing, f"deploy/deltacrown.env.example lacks {sorted(missing)}"
    assert example["PUBLIC_BASE_URL"].startswith("https://")
    assert example["DATABASE_URL"].startswith("postgresql")
    assert example["RATELIMIT_STORAGE_URI"].startswith("redis://")
    assert int(example["TRUSTED_PROXY_COUNT"]) == 1  # nginx in front


def test_an_app_built_from_the_example_environment_starts_in_production_mode(monkeypatch):
    example = _example()
    for key, value in example.items():
        monkeypatch.setenv(key, value)
    # create_app refuses a production app with a secret from the source code; the example's
    # placeholder is not one, and nothing else in it stops the app from being built.
    app = create_app()
    assert not app.debug and not app.testing
    assert app.config["RATELIMIT_STORAGE_URI"] == example["RATELIMIT_STORAGE_URI"]
    assert app.config["DB_STATEMENT_TIMEOUT"] == float(example["DB_STATEMENT_TIMEOUT"])


# --------------------------------------------------------------------------- nginx


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.mark.slow
@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make nginx)")
@pytest.mark.parametrize("access_log", [False, True], ids=["no access log", "access log"])
def test_the_rendered_nginx_site_passes_nginx_t(tmp_path, access_log):
    cluster = _cluster_module()
    main_config = cluster.write_nginx_config(tmp_path, 18080, [18001, 18002], access_log=access_log)
    site = (tmp_path / "deltacrown-site.conf").read_text()
    assert "${" not in site  # every placeholder filled
    assert "server 127.0.0.1:18001 max_fails=0;" in site and "listen 127.0.0.1:18080;" in site
    result = subprocess.run(
        [NGINX, "-t", "-q", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(main_config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # The checker does reject a broken site (this test can fail).
    (tmp_path / "deltacrown-site.conf").write_text(site.replace("proxy_cache_lock on;", "proxy_cache_lock maybe;"))
    broken = subprocess.run(
        [NGINX, "-t", "-q", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(main_config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert broken.returncode != 0 and "proxy_cache_lock" in broken.stderr
