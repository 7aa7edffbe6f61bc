"""Battle-royale lobbies in the portal: the fast entry grid (checked through htmx while typing,
its lobby key reserved when it opens: services.lobby_keys), pasting a lobby, correcting a saved
one, and moving matches through their states."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from app.confirmation import is_confirmed
from app.errors import DomainError, NotFound
from app.extensions import db
from app.models import Match, MatchResult, MatchState, Tournament, TournamentStatus
from app.rendering import render_page_or_fragment, wants_fragment
from app.services.inputs.numbers import parse_whole
from app.services.inputs.text import storable
from app.services.results import lobbies, lobby_keys
from app.services.results.lobbies import LobbyCheck, StaleLobby
from app.services.tournaments import states
from app.services.tournaments.states import DuplicateLobby
from app.staff import bp
from app.staff.common import actor, load, status_for
from app.staff.forms import ActionForm, LobbyForm, MatchStateForm, PasteForm, storable_form

TEMPLATE = "staff/tournaments/lobby_form.html"
# Rows of the grid read back from a post: every registered team (MAX_CONTENT_LENGTH bounds the body).
MAX_ROWS = 5000


def _posted_rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(MAX_ROWS):
        participant = request.form.get(f"rows-{i}-participant")
        if participant is None:
            break
        rows.append(
            {
                "participant": participant,
                "placement": request.form.get(f"rows-{i}-placement", ""),
                "kills": request.form.get(f"rows-{i}-kills", ""),
            }
        )
    return rows


def _grid(tournament: Tournament, filled: dict[str, tuple[Any, Any]] | None = None) -> list[dict[str, Any]]:
    """One row per registered team; a saved or pasted lobby's teams first, in placement order."""
    filled = filled or {}
    participants = sorted(tournament.participants, key=lambda p: p.id)
    order = {key: i for i, key in enumerate(filled)}
    participants.sort(key=lambda p: (order.get(p.key, len(order)), p.id))
    return [
        {
            "participant": p.key,
            "placement": "" if p.key not in filled else str(filled[p.key][0]),
            "kills": "" if p.key not in filled else str(filled[p.key][1]),
        }
        for p in participants
    ]


def _render(
    tournament: Tournament,
    form: LobbyForm,
    check: LobbyCheck,
    *,
    match: Match | None = None,
    paste_form: PasteForm | None = None,
    status: int = 200,
    conflict: str | None = None,
    rejected: LobbyCheck | None = None,
    duplicate: Match | None = None,
):
    action = (
        url_for("staff.lobby_edit", slug=tournament.slug, match_id=match.id)
        if match
        else url_for("staff.lobby_new", slug=tournament.slug)
    )
    stages = list(tournament.stages or [])
    used = db.session.scalars(
        select(Match.stage).where(Match.tournament_id == tournament.id, Match.stage.is_not(None)).distinct()
    )
    stages += [s for s in used if s not in stages]
    response = render_page_or_fragment(
        TEMPLATE,
        "lobby_check",
        tournament=tournament,
        form=form,
        check=check,
        match=match,
        paste_form=paste_form or PasteForm(formdata=None),
        action=action,
        check_url=url_for("staff.lobby_check", slug=tournament.slug),
        stages=stages,
        oob=wants_fragment(),
        conflict=conflict,
        rejected=rejected,
        duplicate=duplicate,
    )
    response.status_code = status
    return response


def _refuse_if_not_br(tournament: Tournament) -> None:
    if not tournament.is_battle_royale:
        flash(f"{tournament.game_name} is played in series; record games on the series page.", "info")
        abort(redirect(url_for("staff.series_list", slug=tournament.slug)))


def lobbies_page(
    tournament: Tournament, status: int = 200, error: str | None = None, failed_state: dict[str, Any] | None = None
):
    team_counts = (
        select(func.count(MatchResult.id)).where(MatchResult.match_id == Match.id).correlate(Match).scalar_subquery()
    )
    rows = db.session.execute(
        select(Match, team_counts)
        .where(Match.tournament_id == tournament.id, Match.series_id.is_(None))
        .order_by(Match.position.desc(), Match.id.desc())
    ).all()
    page = render_template(
        "staff/tournaments/lobbies.html",
        tournament=tournament,
        lobbies=rows,
        transitions=states.MATCH_TRANSITIONS,
        state_form=MatchStateForm(formdata=None),
        frozen=tournament.status == TournamentStatus.COMPLETED.value,
        error=error,
        failed_state=failed_state,
    )
    return page, status


@bp.get("/tournaments/<slug>/lobbies/")
def lobbies_list(slug: str):
    tournament = load(slug)
    _refuse_if_not_br(tournament)
    return lobbies_page(tournament)


@bp.route("/tournaments/<slug>/lobbies/new", methods=["GET", "POST"])
def lobby_new(slug: str):
    tournament = load(slug)
    _refuse_if_not_br(tournament)
    form = LobbyForm()
    if request.method == "GET":
        # After a save the next lobby is usually in the same stage: keep it filled in.
        form.stage.data = request.args.get("stage", "")[:80]
        form.key.data = lobby_keys.reserve_key(tournament, actor())
        return _render(tournament, form, lobbies.check_lobby(tournament, _grid(tournament)))
    rows = _posted_rows()
    if not form.validate_on_submit() or not storable_form(form):
        return _render(tournament, form, lobbies.check_lobby(tournament, rows), status=400)
    try:
        match, check = lobbies.record_lobby(
            tournament.id, form.stage.data, form.state.data, rows, actor(), key=form.key.data
        )
    except DuplicateLobby as exc:
        db.session.rollback()
        first = lobbies.lobby_for(load(slug), exc.match.id)
        return _render(load(slug), form, lobbies.check_lobby(tournament, rows), status=409, duplicate=first)
    except DomainError as exc:
        db.session.rollback()
        form.form_errors.append(exc.message)
        return _render(load(slug), form, lobbies.check_lobby(tournament, rows), status=status_for(exc))
    if match is None:
        return _render(tournament, form, check, status=400)
    flash(f"Saved lobby {match.key}: {len(check.entered)} teams.", "success")
    return redirect(url_for("staff.lobby_new", slug=slug, stage=match.stage or None))


@bp.post("/tournaments/<slug>/lobbies/check")
def lobby_check(slug: str):
    """What saving these rows would do, without saving: the points per row and every problem.
    htmx asks while staff type; without JavaScript the Check button posts here."""
    tournament = load(slug)
    _refuse_if_not_br(tournament)
    form = LobbyForm()
    storable_form(form)
    match = None
    match_id = request.form.get("match_id", "")
    if parse_whole(match_id) is not None:
        try:
            match = lobbies.lobby_for(tournament, parse_whole(match_id))
        except DomainError:
            match = None
    return _render(tournament, form, lobbies.check_lobby(tournament, _posted_rows()), match=match)


@bp.post("/tournaments/<slug>/lobbies/paste")
def lobby_paste(slug: str):
    """Fill the grid from a pasted lobby; staff look it over and save with Enter."""
    tournament = load(slug)
    _refuse_if_not_br(tournament)
    paste_form = PasteForm()
    form = LobbyForm(formdata=None)
    # The paste travels with the grid's own fields: keep the stage and state staff chose there.
    form.stage.data = (request.form.get("stage") or "")[:80]
    if request.form.get("state") in dict(form.state.choices):
        form.state.data = request.form["state"]
    if paste_form.validate_on_submit() and storable_form(paste_form):
        try:
            filled, stage = lobbies.parse_paste(tournament, paste_form.paste.data)
        except DomainError as exc:
            paste_form.paste.errors = [exc.message.removeprefix("paste: ")]
        else:
            if stage:
                form.stage.data = stage
            form.key.data = lobby_keys.reserve_key(tournament, actor())
            grid = _grid(tournament, {k: (v["placement"], v["kills"]) for k, v in filled.items()})
            return _render(tournament, form, lobbies.check_lobby(tournament, grid), paste_form=paste_form)
    return _render(
        tournament, form, lobbies.check_lobby(tournament, _grid(tournament)), paste_form=paste_form, status=400
    )


@bp.route("/tournaments/<slug>/lobbies/<dbid:match_id>/edit", methods=["GET", "POST"])
def lobby_edit(slug: str, match_id: int):
    tournament = load(slug)
    _refuse_if_not_br(tournament)
    try:
        match = lobbies.lobby_for(tournament, match_id)
    except DomainError:
        abort(404)
    if request.method == "GET":
        form = LobbyForm(formdata=None, obj=match)
        form.version.data = str(match.version)
        return _render(
            tournament, form, lobbies.check_lobby(tournament, _grid(tournament, lobbies.saved_rows(match))), match=match
        )
    form = LobbyForm()
    rows = _posted_rows()
    if not form.validate_on_submit() or not storable_form(form):
        return _render(tournament, form, lobbies.check_lobby(tournament, rows), match=match, status=400)
    version = form.version.data or ""
    expected = parse_whole(version)
    try:
        saved, check = lobbies.correct_lobby(tournament.id, match.id, form.stage.data, rows, expected, actor())
    except StaleLobby as exc:
        current = exc.match
        fresh = LobbyForm(formdata=None, obj=current)
        fresh.version.data = str(current.version)
        fresh.form_errors.append(exc.message)
        grid = _grid(tournament, lobbies.saved_rows(current))
        rejected = lobbies.check_lobby(tournament, rows)
        return _render(
            load(slug),
            fresh,
            lobbies.check_lobby(tournament, grid),
            match=current,
            status=409,
            conflict=exc.message,
            rejected=rejected,
        )
    except DomainError as exc:
        db.session.rollback()
        form.form_errors.append(exc.message)
        return _render(load(slug), form, lobbies.check_lobby(tournament, rows), match=match, status=status_for(exc))
    if saved is None:
        return _render(tournament, form, check, match=match, status=400)
    flash(f"Corrected lobby {saved.key}.", "success")
    return redirect(url_for("staff.lobbies_list", slug=slug))


@bp.post("/tournaments/<slug>/matches/<dbid:match_id>/state")
def match_state(slug: str, match_id: int):
    """Start, complete, dispute (with a reason), resolve or cancel a lobby or a series game.
    A series game is completed with its result on the series page."""
    tournament = load(slug)
    form = MatchStateForm()
    error = None
    if not form.validate_on_submit() or not storable_form(form):
        error = "; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items()) or "The form expired; try again."
    elif form.state.data == MatchState.CANCELLED.value and not is_confirmed():
        return _cancel_confirm_page(tournament, match_id, form.reason.data or "")
    else:
        try:
            # Resolving a dispute (-> completed) carries its own note; the other moves a reason.
            reason = form.note.data if form.state.data == MatchState.COMPLETED.value else form.reason.data
            match = lobbies.move_match(tournament.id, match_id, form.state.data, reason, actor())
        except DomainError as exc:
            db.session.rollback()
            return _matches_page(load(slug), status_for(exc), exc.message, _failed(form, match_id))
        flash(f"Match {match.key} is now {match.state}.", "success")
        return redirect(
            url_for("staff.lobbies_list" if tournament.is_battle_royale else "staff.series_list", slug=slug)
        )
    return _matches_page(tournament, 400, error, _failed(form, match_id))


def _cancel_confirm_page(tournament: Tournament, match_id: int, reason: str):
    """Nothing leaves cancelled (services.states), so the Cancel button asks first; the reason
    typed beside the button rides along in the confirm form."""
    try:
        match = lobbies.match_for(tournament, match_id)
    except NotFound:
        abort(404)
    back = url_for("staff.lobbies_list" if tournament.is_battle_royale else "staff.series_list", slug=tournament.slug)
    consequences = [
        f"{match.key} moves from {match.state} to cancelled, for good: it can never be started, completed, "
        "corrected or restored afterwards.",
        "Its results do not count while it is disputed and will never count once it is cancelled "
        "(resolving the dispute makes them count again; voiding a lobby can be undone)."
        if match.state == MatchState.DISPUTED.value
        else "It has no counted results, so the standings do not change.",
        "No player is told (there is no cancellation message); the audit log keeps who did it"
        + (f" and why: “{reason}”." if reason.strip() else "."),
    ]
    context = {
        "title": f"Cancel {match.key}?",
        "consequences": consequences,
        "blockers": [],
        "action": url_for("staff.match_state", slug=tournament.slug, match_id=match.id),
        "cancel_url": back,
        "confirm_label": f"Cancel {match.key} for good",
        # "Cancel" beside "Cancel m5 for good" would read as the same action.
        "back_label": f"Keep {match.key}",
        "hidden": {"state": MatchState.CANCELLED.value, "reason": reason},
    }
    return render_template("staff/tournaments/confirm.html", tournament=tournament, form=ActionForm(), **context)


def _failed(form: MatchStateForm, match_id: int) -> dict[str, Any]:
    reason = form.reason.data if isinstance(form.reason.data, str) and storable(form.reason.data) else ""
    note = form.note.data if isinstance(form.note.data, str) and storable(form.note.data) else ""
    return {"match_id": match_id, "state": form.state.data, "reason": reason, "note": note}


def _matches_page(tournament: Tournament, status: int, error: str, failed: dict[str, Any]):
    if tournament.is_battle_royale:
        return lobbies_page(tournament, status, error, failed)
    from app.staff.series_views import series_page

    return series_page(tournament, status=status, error=error, failed_state=failed)
