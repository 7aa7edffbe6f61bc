"""Registration news, worded for one reader: the captain acts (pays, sends a proof, checks in),
a teammate is told what the captain has to do. Part of `wording` (same EventView, same rules:
every sentence is built from what happened).

Payment details (amounts, transaction IDs, a rejection's reason, the payment instructions) are
read from the rows here, never carried in the event's `data`, which also goes to webhook
receivers; staff's words and what became of the slot come from the event's `notice`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Entry,
    Payment,
    PaymentProof,
    ProofStatus,
    RegistrationSettings,
    Tournament,
)
from app.money import format_money, method_name
from app.notifications.wording import EventView, _get, site_path, when


def _settings(tournament: Tournament | None) -> RegistrationSettings | None:
    if tournament is None:
        return None
    return db.session.scalar(select(RegistrationSettings).where(RegistrationSettings.tournament_id == tournament.id))


def _verified_fee(entry: Entry | None) -> tuple[str, str]:
    """(amount, transaction ID) of the entry's verified fee, or ("", "")."""
    payment = _get(Payment, entry.payment_id) if entry is not None and entry.payment_id else None
    if payment is None:
        return "", ""
    return format_money(payment.amount_cents, payment.currency), payment.reference or ""


def describe_entry(
    event_type: str,
    data: dict[str, Any],
    notice: dict[str, Any],
    tournament: Tournament | None,
    tournament_name: str,
    details: dict,
    user_id: int | None,
) -> EventView:
    entry = _get(Entry, data.get("registration_id"))
    team = entry.team_name if entry is not None else data.get("team_name") or "your team"
    code = entry.code if entry is not None else data.get("registration_code") or ""
    captain = entry is not None and user_id is not None and entry.captain_id == user_id
    details.update(team=team, code=code, captain=captain, next_step="")
    why = (
        f"you registered {team} for {tournament_name} as its captain"
        if captain
        else f"you are on the roster of {team} for {tournament_name}"
    )
    if event_type == "payment.submitted":
        path = site_path("staff.registrations", slug=tournament.slug) if tournament is not None else None
        title = f"Payment proof to check: {team}"
        body = f"{team} ({code}) sent a payment proof for {tournament_name}. It is waiting in the registration queue."
        return EventView(event_type, title, body, path, tournament_name, details, "you are staff of this site")

    path = site_path("players.registration", entry_id=entry.id) if entry is not None else None
    if event_type == "payment.rejected":
        view = _rejected_proof(entry, team, code, captain, tournament_name, details)
    elif event_type == "registration.confirmed":
        view = _confirmed(entry, data, team, code, captain, tournament, tournament_name, details)
    elif event_type == "registration.offered":
        view = _offered(entry, team, code, captain, tournament, tournament_name, details)
    else:
        view = _cancelled(entry, data, notice, team, code, captain, tournament, tournament_name, details)
    view.path, view.why = path, why
    return view


def _rejected_proof(
    entry: Entry | None, team: str, code: str, captain: bool, tournament_name: str, details: dict
) -> EventView:
    proof = None
    if entry is not None:
        proof = db.session.scalar(
            select(PaymentProof)
            .where(PaymentProof.entry_id == entry.id, PaymentProof.status == ProofStatus.REJECTED.value)
            .order_by(PaymentProof.id.desc())
            .limit(1)
        )
    details["reason"] = proof.reason if proof is not None else ""
    details["deadline"] = when(entry.payment_deadline) if entry is not None else ""
    details["transaction_id"] = proof.transaction_id if proof is not None else ""
    whose = "the payment you sent" if captain else "your team's payment"
    body = f"The organisers of {tournament_name} could not match {whose} for {team} ({code})"
    body += f", transaction ID {details['transaction_id']}." if details["transaction_id"] else "."
    if details["reason"]:
        body += f" Their reason: {details['reason']}"
    step = (
        "Check the transaction and send the proof again from your registration page"
        if captain
        else ("Your captain can send the proof again from the registration page")
    )
    step += f" before {details['deadline']}." if details["deadline"] else "."
    details["next_step"] = step
    body += " " + step
    return EventView("payment.rejected", f"Payment not accepted: {team}", body, None, tournament_name, details)


def _confirmed(
    entry: Entry | None,
    data: dict[str, Any],
    team: str,
    code: str,
    captain: bool,
    tournament: Tournament | None,
    tournament_name: str,
    details: dict,
) -> EventView:
    status = entry.payment_status if entry is not None else data.get("payment_status") or ""
    amount, reference = _verified_fee(entry) if status in ("verified", "refunded") else ("", "")
    details.update(amount=amount, reference=reference, how="")
    if status in ("verified", "refunded") and amount:
        whose = "Your entry fee" if captain else "Your team's entry fee"
        details["how"] = f"{whose} of {amount} has been verified" + (
            f" (transaction ID {reference})." if reference else "."
        )
    elif status == "waived":
        details["how"] = "The organisers waived the entry fee."
    settings = _settings(tournament)
    details["check_in"] = ""
    if settings is not None and settings.check_in_minutes and settings.starts_at is not None:
        opens = settings.starts_at - timedelta(minutes=settings.check_in_minutes)
        details["check_in"] = f"{when(opens)} to {when(settings.starts_at)}"
    if details["check_in"]:
        who = "Check in" if captain else "Your captain checks the team in"
        details["next_step"] = (
            f"{who} from {details['check_in']}: a team that has not checked in when the window closes loses its place."
        )
    else:
        details["next_step"] = "Nothing more to do: the organisers will publish the schedule."
    title = f"Registration confirmed: {team}"
    if details["how"].startswith(("Your entry fee", "Your team's entry fee")):
        title = f"Payment verified, registration confirmed: {team}"
    body = f"{team} is confirmed for {tournament_name} (registration {code})."
    if details["how"]:
        body += " " + details["how"]
    body += " " + details["next_step"]
    return EventView("registration.confirmed", title, body, None, tournament_name, details)


def _offered(
    entry: Entry | None,
    team: str,
    code: str,
    captain: bool,
    tournament: Tournament | None,
    tournament_name: str,
    details: dict,
) -> EventView:
    settings = _settings(tournament)
    paying = entry is not None and entry.status == "pending_payment" and entry.payment_deadline is not None
    details["deadline"] = when(entry.payment_deadline) if paying else ""
    details["amount"] = format_money(settings.fee_cents, settings.currency) if paying and settings else ""
    details["methods"] = (
        [{"name": method_name(m.get("name", "")), "instructions": m.get("instructions", "")} for m in settings.methods]
        if paying and settings is not None and settings.methods
        else []
    )
    title = f"A place for {team}: pay {details['amount']} to keep it" if paying else f"A place for {team}"
    body = f"A place in {tournament_name} has freed up and {team} ({code}) was next on the waiting list."
    if paying:
        who = "Pay" if captain else "Your captain pays"
        details["next_step"] = (
            f"{who} the entry fee of {details['amount']} and sends the proof before {details['deadline']}, "
            "or the place goes to the next team on the waiting list."
            if not captain
            else f"Pay the entry fee of {details['amount']} and send the proof from your registration page before "
            f"{details['deadline']}, or the place goes to the next team on the waiting list."
        )
        body += " " + details["next_step"]
        if details["methods"]:
            body += " How to pay: " + " ".join(f"{m['name']}: {m['instructions']}." for m in details["methods"])
            body += f" Registration code: {code}."
    elif entry is not None and entry.status == "awaiting_approval":
        details["next_step"] = "The organisers approve the entry; the registration page shows where it stands."
        body += " " + details["next_step"]
    else:
        details["next_step"] = "The registration page shows what is left to do."
        body += " " + details["next_step"]
    return EventView("registration.offered", title, body, None, tournament_name, details)


def _cancelled(
    entry: Entry | None,
    data: dict[str, Any],
    notice: dict[str, Any],
    team: str,
    code: str,
    captain: bool,
    tournament: Tournament | None,
    tournament_name: str,
    details: dict,
) -> EventView:
    """Each sentence from what happened: why it ended, staff's reason, whether the slot went to a
    waiting-listed team, and what becomes of a fee that was paid."""
    reason = data.get("reason") or ""
    note = notice.get("note") or (entry.end_note if entry is not None else None) or ""
    details.update(reason=reason, note=note)
    sentences = []
    if reason == "deadline":
        sentences.append("The entry fee was not paid before the payment deadline.")
    elif reason == "withdrawn":
        sentences.append("Your team withdrew." if not captain else "You withdrew the team.")
    elif reason == "no_show":
        settings = _settings(tournament)
        closes = when(settings.starts_at) if settings is not None and settings.starts_at is not None else ""
        sentences.append(
            "The team did not check in before the check-in window closed" + (f" ({closes})." if closes else ".")
        )
    elif reason == "rejected":
        sentences.append("The organisers turned the registration down.")
        if note:
            sentences.append(f"Their reason: {note}")
    else:
        sentences.append("The registration is no longer active.")
    if notice.get("passed_on"):
        sentences.append("The place went to the next team on the waiting list.")
    status = entry.payment_status if entry is not None else data.get("payment_status") or ""
    amount, _reference = _verified_fee(entry) if status == "verified" else ("", "")
    details["amount"] = amount
    if status == "verified" and amount:
        if reason == "withdrawn":
            sentences.append(
                f"The entry fee of {amount} was verified; the organisers refund it, and you will get an email when "
                "they have."
            )
        else:
            sentences.append(
                f"The entry fee of {amount} was verified. It is not refunded automatically: ask the organisers; "
                "if they refund it you will get an email."
            )
    elif status == "submitted":
        sentences.append(
            "The payment proof sent for the team was never checked; if money was sent, ask the organisers."
        )
    details["why"] = " ".join(sentences)
    title = f"Registration {'withdrawn' if reason == 'withdrawn' else 'cancelled'}: {team}"
    body = f"The registration of {team} for {tournament_name} ({code}) has ended. {details['why']}"
    return EventView("registration.cancelled", title, body, None, tournament_name, details)
