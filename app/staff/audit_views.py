"""The audit log: /staff/audit (all changes, filterable, paginated) and /staff/audit.csv (the
same filters, every matching event). `?tournament=<slug>` is the per-tournament log that the
tournament pages link to."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, render_template, request, stream_with_context, url_for
from sqlalchemy import func, or_, select

from app.errors import DomainError
from app.extensions import db
from app.models import User
from app.services import audit
from app.staff import bp

_FILTER_ARGS = ("tournament", "actor", "action", "from", "to")


def _filter_args() -> dict[str, str]:
    return {k: request.args[k] for k in _FILTER_ARGS if request.args.get(k)}


@bp.get("/audit")
def audit_log():
    args = _filter_args()
    try:
        flt = audit.parse_filter(request.args)
        page = audit.parse_page(request.args.get("page"))
    except DomainError as exc:
        return _page(args, None, exc.message, exc.status)
    return _page(args, audit.page_of(flt, page), None, 200, flt)


def _page(args, result, error, status, flt=None):
    # The actor filter offers the staff (who make the changes worth filtering by), not every
    # player's email; a player already chosen through the address stays selectable.
    chosen = (args.get("actor") or "").lower()
    actors = db.session.scalars(
        select(User).where(or_(User.is_staff, User.is_admin, func.lower(User.email) == chosen)).order_by(User.email)
    ).all()
    return (
        render_template(
            "staff/audit/index.html",
            args=args,
            result=result,
            error=error,
            flt=flt,
            actions=audit.actions(),
            actors=actors,
            actor_label=audit.actor_label,
            field_changes=audit.field_changes,
            pretty_json=audit.pretty_json,
            csv_url=url_for("staff.audit_csv", **args),
            page_url=lambda n: url_for("staff.audit_log", **args, page=n),
        ),
        status,
    )


@bp.get("/audit.csv")
def audit_csv():
    try:
        flt = audit.parse_filter(request.args)
    except DomainError as exc:
        return _page(_filter_args(), None, exc.message, exc.status)
    scope = flt.tournament.slug if flt.tournament is not None else "all"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    response = Response(stream_with_context(audit.csv_lines(flt)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{scope}-{stamp}.csv"'
    return response
