from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import case, func, select
from werkzeug.wrappers import Response

from app.errors import DomainError
from app.extensions import db
from app.models import Participant, Tournament, TournamentStatus
from app.services.accounts import users as users_service
from app.services.registration.roster_visibility import is_visible
from app.staff import bp

# Live events first: that is what staff open the portal for during a tournament day.
_STATUS_ORDER = {
    TournamentStatus.LIVE.value: 0,
    TournamentStatus.REGISTRATION.value: 1,
    TournamentStatus.DRAFT.value: 2,
    TournamentStatus.COMPLETED.value: 3,
}


@bp.get("/")
def dashboard() -> str:
    participant_count = (
        select(func.count(Participant.id))
        .where(Participant.tournament_id == Tournament.id, is_visible(Participant.id))
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


# --------------------------------------------------------------------------- API tokens
# Each staff member manages only their own tokens (admins included): a token acts as its
# owner, so nobody should hold one that acts as somebody else.


@bp.get("/tokens/")
def tokens() -> str:
    return render_template("staff/tokens/index.html", tokens=users_service.tokens_of(current_user.id), new_token=None)


@bp.post("/tokens/")
def token_create() -> tuple[str, int] | Response:
    try:
        raw = users_service.issue_token(current_user.id, actor_id=current_user.id)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("staff.tokens"))
    # Rendered, not redirected: the token must not travel through the session or a flash
    # message, and this response is not cached (no-store on every staff page).
    page = render_template("staff/tokens/index.html", tokens=users_service.tokens_of(current_user.id), new_token=raw)
    return page, 201


@bp.post("/tokens/<dbid:token_id>/revoke")
def token_revoke(token_id: int) -> Response:
    try:
        token = users_service.revoke_token(token_id, owner_id=current_user.id, actor_id=current_user.id)
    except DomainError as exc:
        db.session.rollback()
        abort(exc.status, exc.message)
    flash(f"Token {token.prefix}… revoked; it no longer works.", "success")
    return redirect(url_for("staff.tokens"))
