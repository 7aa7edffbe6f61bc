"""Health endpoints for load balancers and process managers.

- `/healthz` (liveness): the process answers and can run `SELECT 1`. Cheap enough to call every
  second.
- `/readyz` (readiness): this instance can serve real traffic: the database answers and
  Redis (the shared log-in limits) answers, each within its bounded wait (`DB_CONNECT_TIMEOUT`,
  `REDIS_TIMEOUT`). A load balancer takes an instance out of rotation while it says 503, e.g.
  during start-up or when it lost its network path to a dependency. Redis down is not fatal to
  the site (log-in counts in memory), but an instance that cannot reach it should not be
  preferred over one that can.

Both answer JSON, never cached, and never touch the session.
"""

from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy import text

from app.extensions import db


def _database_ok() -> bool:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # the point of a health check is to report, not to crash
        current_app.logger.warning("readiness: database unavailable: %s", exc)
        return False
    return True


def _redis_state() -> str:
    from app.services.support.throttle import throttle

    login_throttle = throttle()
    if login_throttle.storage_uri.startswith("memory://"):
        return "not used"
    try:
        ok = bool(login_throttle._primary is not None and login_throttle._primary.check())
    except Exception as exc:
        current_app.logger.warning("readiness: redis unavailable: %s", exc)
        ok = False
    return "ok" if ok else "unavailable"


def init_app(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as exc:
            app.logger.warning("health check failed: %s", exc)
            return {"status": "error", "database": "unavailable"}, 503, {"Cache-Control": "no-store"}
        return {"status": "ok", "database": "ok"}, 200, {"Cache-Control": "no-store"}

    @app.get("/readyz")
    def readyz():
        database = "ok" if _database_ok() else "unavailable"
        redis = _redis_state()
        ready = database == "ok" and redis != "unavailable"
        body = {"status": "ok" if ready else "error", "database": database, "redis": redis}
        return body, 200 if ready else 503, {"Cache-Control": "no-store"}
