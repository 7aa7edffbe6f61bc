"""Registration API (contract §7): settings, register, list, payment proof, staff decision,
withdraw and check-in. The rules live in app/services/registration/ (entries: the lifecycle,
decisions, settings and settings_save, records for reading); these views parse and call."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request

from app.api import bp
from app.api.common import json_body, player_required, read_body, staff_required, visible_tournament
from app.errors import NotFound
from app.services.inputs import api_bodies
from app.services.registration import decisions, entries, settings_save
from app.services.registration import records as entry_records
from app.services.registration.settings import settings_for, settings_to_json

RID = "<dbid:rid>"


def _entry(ref: str, rid: int):
    tournament = visible_tournament(ref)
    return entry_records.get_entry(rid, tournament.id)


def _row(entry) -> Any:
    return jsonify(entry_records.to_row(entry))


@bp.get("/tournaments/<ref>/registration/")
def registration_settings(ref: str):
    tournament = visible_tournament(ref)
    settings = settings_for(tournament.id)
    if settings is None:
        raise NotFound(f"{tournament.slug} does not take registrations")
    return jsonify(settings_to_json(settings))


@bp.put("/tournaments/<ref>/registration/")
@staff_required
def save_registration_settings(ref: str):
    tournament = visible_tournament(ref)
    body = json_body()
    api_bodies.check(api_bodies.SETTINGS, body)  # the declared shape; the service reads the rest
    settings = settings_save.save_settings(tournament.id, body, g.api_user.id)
    return jsonify(settings_to_json(settings))


@bp.post("/tournaments/<ref>/registrations/")
@player_required
def register(ref: str):
    tournament = visible_tournament(ref)
    body = read_body(api_bodies.REGISTER)
    entry = entries.register(
        tournament.id, g.api_user.id, body["team_name"], body["tag"] or None, captain_phone=body["captain_phone"]
    )
    row = entry_records.to_row(entry)
    keys = ("id", "code", "status", "payment_deadline", "waitlist_position")
    return jsonify({key: row[key] for key in keys}), 201


@bp.get("/tournaments/<ref>/registrations/")
@player_required
def registrations(ref: str):
    tournament = visible_tournament(ref)
    user = g.api_user
    status = request.args.get("status") or None
    rows = entry_records.queue(tournament.id, status)
    if not user.can_staff:
        mine = {e.id for e in entry_records.entries_for_user(user.id)}
        rows = [e for e in rows if e.id in mine]
    positions = entry_records.waitlist_positions(tournament.id)
    return jsonify([entry_records.to_row(e, positions) for e in rows])


@bp.post(f"/tournaments/<ref>/registrations/{RID}/payment/")
@player_required
def submit_payment(ref: str, rid: int):
    entry = _entry(ref, rid)
    body = read_body(api_bodies.PAYMENT)
    entry = entries.submit_proof(
        entry.id,
        g.api_user.id,
        method=body["method"],
        transaction_id=body["transaction_id"],
        amount=body["amount"],
        sender_last_digits=body["sender_last_digits"] or "",
    )
    return _row(entry)


@bp.post(f"/tournaments/<ref>/registrations/{RID}/decision/")
@staff_required
def decide(ref: str, rid: int):
    entry = _entry(ref, rid)
    body = read_body(api_bodies.DECISION)
    entry = decisions.decide(
        entry.id, body["decision"], g.api_user.id, reason=body["reason"] or "", reference=body["reference"] or ""
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
