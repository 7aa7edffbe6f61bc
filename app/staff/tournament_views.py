"""Running a tournament from the portal: create, import, edit, register participants, move it
through its states, adjust points. Views parse the form, call a service, render; the rules
(and their messages) are the services'."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from app.errors import DomainError, ValidationError
from app.extensions import db
from app.models import Match, Participant, Tournament, TournamentStatus
from app.services.accounts.players import issue_join_code
from app.services.tournaments import setup as tournaments
from app.services.tournaments import states
from app.staff import bp
from app.staff.common import actor, conflict_message, load, participant_choices, status_for
from app.staff.forms import (
    ActionForm,
    AdjustmentForm,
    ImportForm,
    ParticipantForm,
    ParticipantsPasteForm,
    TournamentForm,
    attach_error,
    number_list,
    storable_form,
    whole_number,
    word_list,
)

MAX_UPLOAD = 1024 * 1024


# --------------------------------------------------------------------------- create / import / edit


def _fields(form: TournamentForm) -> tournaments.TournamentFields:
    preset = form.scoring_preset.data or None
    custom = preset == "custom"
    return tournaments.TournamentFields(
        name=form.name.data,
        slug=(form.slug.data or "").strip(),
        game=form.game.data,
        scoring_preset=preset,
        placement_points=number_list(form.placement_points) if custom else None,
        kill_points=whole_number(form.kill_points, required=True) if custom else None,
        tiebreakers=word_list(form.tiebreakers) if custom else None,
        stages=[line for line in (form.stages.data or "").splitlines() if line.strip()],
        advancing=whole_number(form.advancing),
    )


# "… is now open for registration." (a status name alone does not make a sentence).
STATUS_PHRASES = {
    TournamentStatus.DRAFT.value: "a draft",
    TournamentStatus.REGISTRATION.value: "open for registration",
    TournamentStatus.LIVE.value: "live",
    TournamentStatus.COMPLETED.value: "completed",
}


@bp.get("/tournaments/")
def tournaments_index():
    count = (
        select(func.count(Participant.id))
        .where(Participant.tournament_id == Tournament.id)
        .correlate(Tournament)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Tournament, count).order_by(Tournament.created_at.desc(), Tournament.id.desc())
    ).all()
    return render_template("staff/tournaments/index.html", tournaments=rows, tournament=None)


def _all_problems(form: TournamentForm, tournament_id: int | None = None) -> bool:
    """Check the whole form in one round: the form's own rules, the numbers, then every service
    rule field by field. Returns True when there is nothing to fix."""
    valid = form.validate() and storable_form(form)
    # A number that does not parse is reported, then left out so the other fields are still checked.
    set_aside: dict[str, Any] = {}
    while True:
        try:
            fields = _fields(form)
            break
        except DomainError as exc:
            name = exc.message.partition(": ")[0]
            if name not in set_aside:
                attach_error(form, exc)
            if name not in form._fields or name in set_aside:
                for name, data in set_aside.items():
                    form[name].data = data
                return False
            set_aside[name] = form[name].data
            form[name].data = ""
    for name, data in set_aside.items():
        form[name].data = data
    for message in tournaments.tournament_problems(fields, tournament_id):
        name = message.partition(": ")[0]
        field = form._fields.get(name)
        if field is None or not field.errors:  # one message per field: the form's own comes first
            attach_error(form, ValidationError(message))
    return valid and not any(field.errors for field in form) and not form.form_errors


@bp.route("/tournaments/new", methods=["GET", "POST"])
def tournament_new():
    form = TournamentForm()
    if request.method == "POST":
        if not (form.slug.data or "").strip():
            # No address typed: the name's (the page fills it while typing when JavaScript runs).
            form.slug.data = tournaments.slug_from_name(form.name.data or "")
        if _all_problems(form):
            try:
                tournament = tournaments.create_tournament(_fields(form), actor())
            except DomainError as exc:
                db.session.rollback()
                attach_error(form, exc)
            else:
                flash(f"Created {tournament.name} as a draft.", "success")
                return redirect(url_for("staff.tournament", slug=tournament.slug))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/tournaments/form.html", form=form, tournament=None), status


@bp.route("/tournaments/import", methods=["GET", "POST"])
def tournament_import():
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        if upload is None or not getattr(upload, "filename", ""):
            form.file.errors = ["choose a tournament file to upload"]
        else:
            data = upload.read(MAX_UPLOAD + 1)
            try:
                if len(data) > MAX_UPLOAD:
                    raise ValidationError(
                        "file: larger than 1 MB; import big files with flask --app wsgi tournaments import"
                    )
                tournament = tournaments.import_upload(data, upload.filename, actor())
            except DomainError as exc:
                db.session.rollback()
                form.file.errors = [exc.message]
            else:
                flash(f"Imported {tournament.name}.", "success")
                return redirect(url_for("staff.tournament", slug=tournament.slug))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/tournaments/import.html", form=form), status


@bp.route("/tournaments/<slug>/edit", methods=["GET", "POST"])
def tournament_edit(slug: str):
    tournament = load(slug)
    form = TournamentForm(obj=tournament if request.method == "GET" else None)
    if request.method == "GET":
        form.scoring_preset.data = tournament.scoring_preset or ""
        form.placement_points.data = ", ".join(map(str, tournament.placement_points or []))
        form.kill_points.data = "" if tournament.kill_points is None else str(tournament.kill_points)
        form.tiebreakers.data = ", ".join(tournament.tiebreakers or [])
        form.stages.data = "\n".join(tournament.stages or [])
        form.advancing.data = "" if tournament.advancing is None else str(tournament.advancing)
    elif form.validate_on_submit() and storable_form(form):
        try:
            updated = tournaments.update_tournament(tournament.id, _fields(form), actor())
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
            tournament = load(slug)
        else:
            flash("Saved.", "success")
            return redirect(url_for("staff.tournament", slug=updated.slug))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/tournaments/form.html", form=form, tournament=tournament), status


# --------------------------------------------------------------------------- overview


def _overview(tournament: Tournament, status: int = 200, **forms: Any):
    participant_form = forms.get("participant_form") or ParticipantForm(formdata=None)
    paste_form = forms.get("paste_form") or ParticipantsPasteForm(formdata=None)
    adjustment_form = forms.get("adjustment_form") or AdjustmentForm(formdata=None)
    adjustment_form.participant.choices = participant_choices(tournament, "Choose a team")
    open_matches = db.session.execute(
        select(Match.key, Match.state).where(
            Match.tournament_id == tournament.id, Match.state.in_(("live", "disputed")), Match.voided_at.is_(None)
        )
    ).all()
    counts = dict(
        db.session.execute(
            select(Match.state, func.count(Match.id)).where(Match.tournament_id == tournament.id).group_by(Match.state)
        ).all()
    )
    return (
        render_template(
            "staff/tournaments/overview.html",
            tournament=tournament,
            participants=sorted(tournament.participants, key=lambda p: p.id),
            participant_form=participant_form,
            paste_form=paste_form,
            adjustment_form=adjustment_form,
            adjustments=tournaments.adjustments(tournament) if tournament.is_battle_royale else [],
            action_form=ActionForm(formdata=None),
            next_status=states.TOURNAMENT_STEPS.get(tournament.status),
            open_matches=open_matches,
            match_counts=counts,
            error=forms.get("error"),
            join_code=forms.get("join_code"),
        ),
        status,
    )


@bp.get("/tournaments/<slug>/")
def tournament(slug: str):
    return _overview(load(slug))


@bp.post("/tournaments/<slug>/participants")
def participant_add(slug: str):
    tournament = load(slug)
    form = ParticipantForm()
    if form.validate_on_submit() and storable_form(form):
        try:
            participant = tournaments.register_participant(
                tournament.id, form.name.data, form.key.data, form.tag.data, actor()
            )
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
            return _overview(load(slug), status_for(exc), participant_form=form, error=conflict_message(exc))
        flash(f"Registered {participant.name} ({participant.key}).", "success")
        return redirect(url_for("staff.tournament", slug=slug) + "#participants")
    return _overview(tournament, 400, participant_form=form)


@bp.post("/tournaments/<slug>/participants/<path:key>/join-code")
def participant_join_code(slug: str, key: str):
    """A new join code for one team, shown on this response only (it is stored hashed, and a
    flash would carry it in the session cookie). The team's earlier code stops working."""
    tournament = load(slug)
    form = ActionForm()
    participant = next((p for p in tournament.participants if p.key == key), None)
    if participant is None:
        abort(404)
    if not form.validate_on_submit():
        return _overview(tournament, 400, error="The form expired; reload the page and try again.")
    code = issue_join_code(participant, actor())
    db.session.commit()
    return _overview(tournament, join_code=(participant, code))


@bp.post("/tournaments/<slug>/participants/paste")
def participants_paste(slug: str):
    tournament = load(slug)
    form = ParticipantsPasteForm()
    if form.validate_on_submit() and storable_form(form):
        try:
            created = tournaments.register_participants_csv(tournament.id, form.participants.data, actor())
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
            return _overview(load(slug), status_for(exc), paste_form=form, error=conflict_message(exc))
        flash(f"Registered {len(created)} participants.", "success")
        return redirect(url_for("staff.tournament", slug=slug) + "#participants")
    return _overview(tournament, 400, paste_form=form)


@bp.post("/tournaments/<slug>/adjustments")
def adjustment_add(slug: str):
    tournament = load(slug)
    form = AdjustmentForm()
    form.participant.choices = participant_choices(tournament, "Choose a team")
    if form.validate_on_submit() and storable_form(form):
        try:
            points = whole_number(form.points, required=True)
            tournaments.add_adjustment(tournament.id, form.participant.data, points, form.reason.data, actor())
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
            return _overview(load(slug), status_for(exc), adjustment_form=form, error=conflict_message(exc))
        flash("Adjustment added.", "success")
        return redirect(url_for("staff.tournament", slug=slug) + "#adjustments")
    return _overview(tournament, 400, adjustment_form=form)


@bp.post("/tournaments/<slug>/status")
def tournament_status(slug: str):
    tournament = load(slug)
    form = ActionForm()
    if not form.validate_on_submit():
        return _overview(tournament, 400, error="The form expired; try again.")
    if form.status.data == TournamentStatus.COMPLETED.value:
        # Completing cannot be undone: it goes through its confirm page (correction_views).
        from app.staff.correction_views import tournament_complete

        return tournament_complete(slug)
    try:
        states.advance_tournament(tournament.id, form.status.data or "", actor())
    except DomainError as exc:
        db.session.rollback()
        return _overview(load(slug), status_for(exc), error=exc.message)
    flash(f"{tournament.name} is now {STATUS_PHRASES.get(tournament.status, tournament.status)}.", "success")
    return redirect(url_for("staff.tournament", slug=slug))
