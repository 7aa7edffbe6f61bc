from __future__ import annotations

from flask import current_app, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import case, func, select

from app.extensions import db
from app.models import Participant, Tournament, TournamentStatus
from app.staff import bp

# Live events first: that is what staff open the portal for during a tournament day.
_STATUS_ORDER = {
    TournamentStatus.LIVE.value: 0,
    TournamentStatus.REGISTRATION.value: 1,
    TournamentStatus.DRAFT.value: 2,
    TournamentStatus.COMPLETED.value: 3,
}


@bp.before_request
@login_required
def require_staff() -> tuple[str, int] | None:
    """Every staff page, present and future, is closed to non-staff, not just the ones that
    remember to check. The page (not a bare abort) keeps the layout, and with it the log-out
    button, in front of a player who wandered in."""
    if not current_user.can_staff:
        return render_template("staff/forbidden.html"), 403
    return None


@bp.get("/")
def dashboard() -> str:
    participant_count = (
        select(func.count(Participant.id))
        .where(Participant.tournament_id == Tournament.id)
        .correlate(Tournament)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Tournament, participant_count).order_by(
            case(_STATUS_ORDER, value=Tournament.status, else_=len(_STATUS_ORDER)),
            Tournament.created_at.desc(),
            Tournament.id.desc(),
        )
    ).all()
    # The public pages come from another blueprint; link to them only once they exist.
    has_public_page = "public.tournament" in current_app.view_functions
    tournaments = [
        {
            "tournament": tournament,
            "participants": count,
            "public_url": url_for("public.tournament", slug=tournament.slug) if has_public_page else None,
        }
        for tournament, count in rows
    ]
    return render_template("staff/dashboard.html", tournaments=tournaments)
