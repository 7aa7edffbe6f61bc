"""Registration API (contract §7): settings, register, list, payment proof, staff decision,
withdraw and check-in. The rules live in app/services/entries.py; these views parse and call."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request

from app.api import bp
from app.api.views import json_body, player_required, staff_required, visible_tournament
from app.errors import NotFound, ValidationError
from app.services import entries

RID = "<dbid:rid>"


def _text(body: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = body.get(name)
    if value is None:
        if required:
            raise ValidationError(f"{name}: required")
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{name}: must be text")
    return value


def _only(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ValidationError(f"{unknown[0]}: unknown field (fields: {', '.join(allowed)})")


def _entry(ref: str, rid: int):
    tournament = visible_tournament(ref)
    return entries.get_entry(rid, tournament.id)


def _row(entry) -> Any:
    return jsonify(entries.to_row(entry))


@bp.get("/tournaments/<ref>/registration/")
def registration_settings(ref: str):
    tournament = visible_tournament(ref)
    settings = entries.settings_for(tournament.id)
    if settings is None:
        raise NotFound(f"{tournament.slug} does not take registrations")
    return jsonify(entries.settings_to_json(settings))


@bp.put("/tournaments/<ref>/registration/")
@staff_required
def save_registration_settings(ref: str):
    tournament = visible_tournament(ref)
    settings = entries.save_settings(tournament.id, json_body(), g.api_user.id)
    return jsonify(entries.settings_to_json(settings))


@bp.post("/tournaments/<ref>/registrations/")
@player_required
def register(ref: str):
    tournament = visible_tournament(ref)
    body = json_body()
    _only(body, ("team_name", "tag"))
    team_name = _text(body, "team_name", required=True)
    entry = entries.register(tournament.id, g.api_user.id, team_name, _text(body, "tag") or None)
    row = entries.to_row(entry)
    keys = ("id", "code", "status", "payment_deadline", "waitlist_position")
    return jsonify({key: row[key] for key in keys}), 201


@bp.get("/tournaments/<ref>/registrations/")
@player_required
def registrations(ref: str):
    tournament = visible_tournament(ref)
    user = g.api_user
    status = request.args.get("status") or None
    rows = entries.queue(tournament.id, status)
    if not user.can_staff:
        mine = {e.id for e in entries.entries_for_user(user.id)}
        rows = [e for e in rows if e.id in mine]
    positions = entries.waitlist_positions(tournament.id)
    return jsonify([entries.to_row(e, positions) for e in rows])


@bp.post(f"/tournaments/<ref>/registrations/{RID}/payment/")
@player_required
def submit_payment(ref: str, rid: int):
    entry = _entry(ref, rid)
    body = json_body()
    _only(body, ("method", "transaction_id", "amount", "sender_last_digits"))
    if "amount" not in body:
        raise ValidationError('amount: required, a decimal such as "500.00"')
    entry = entries.submit_proof(
        entry.id,
        g.api_user.id,
        method=_text(body, "method", required=True),
        transaction_id=_text(body, "transaction_id", required=True),
        amount=body["amount"],
        sender_last_digits=_text(body, "sender_last_digits"),
    )
    return _row(entry)


@bp.post(f"/tournaments/<ref>/registrations/{RID}/decision/")
@staff_required
def decide(ref: str, rid: int):
    entry = _entry(ref, rid)
    body = json_body()
    _only(body, ("decision", "reason", "reference"))
    decision = _text(body, "decision", required=True)
    entry = entries.decide(
        entry.id, decision, g.api_user.id, reason=_text(body, "reason"), reference=_text(body, "reference")
    )
    return _row(entry)


@bp.post(f"/tournaments/<ref>/registrations/{RID}/withdraw/")
@player_required
def withdraw(ref: str, rid: int):
    entry = _entry(ref, rid)
    return _row(entries.withdraw(entry.id, g.api_user.id))


@bp.post(f"/tournaments/<ref>/registrations/{RID}/check-in/")
@player_required
def check_in(ref: str, rid: int):
    entry = _entry(ref, rid)
    return _row(entries.check_in(entry.id, g.api_user.id))
