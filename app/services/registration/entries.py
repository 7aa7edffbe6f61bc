"""Team registration and entry fees: the lifecycle of an `Entry`.

The rule:

- Registration is open between `opens_at` and `closes_at` (either may be unset) while the
  tournament is not live or completed. A logged-in player registers a team (name, tag) and is
  its captain. A player is on at most one team per tournament (as captain or as a member of a
  team whose entry is still alive), and a team name registers once per tournament (case does
  not matter; teams staff added directly count too).
- Slot-holding statuses are `pending_payment`, `awaiting_approval` and `confirmed`; at most
  `capacity` entries hold a slot. The count is taken under the registration lock (an UPDATE of
  the settings row, which PostgreSQL holds as a row lock and SQLite as its write lock until the
  commit), so capacity is never exceeded however many captains press Register at once. When no
  slot is free the team joins the waiting list (`waitlisted`), first come first served.
- A new entry with a fee is `pending_payment` with a deadline (`payment_deadline_hours` after
  registering, but never past the registration close or the start of play: `deadlines`).
  The captain submits proof (method, transaction id, amount, sender's last digits,
  optional screenshot): payment status `submitted`. Staff verify it (-> `confirmed`, payment
  `verified`; a roster `Payment` is recorded on the captain's registration through
  app/services/registration/payments.py, so `payment.verified`/`payment.refunded` and the Payments tab stay
  as they were), waive the fee (-> `confirmed`, `waived`) or reject the proof with a reason
  (payment `rejected`; the entry keeps its slot and the captain may submit a new proof, every
  earlier proof is kept; the deadline is moved to `payment_deadline_hours` after the rejection
  if less time was left).
- A free entry is `confirmed` at once when `auto_confirm_free` is on and the roster is already
  big enough (`roster_min` 1); otherwise it is `awaiting_approval`. With auto-confirm on it is
  confirmed by the timed steps as soon as teammates have joined (and cancelled at its deadline
  if they never do); without it staff `approve` it or `reject` it (-> `rejected`, slot freed).
- The roster is the team's registrations (captain + teammates who joined with the team's join
  code). Its size must be within roster_min..roster_max whenever an entry becomes confirmed
  (verify, waive, approve, auto-confirm); otherwise the decision is refused with the numbers.
- An entry still unpaid (payment `none` or `rejected`) when its deadline passes is `cancelled`
  (reason "deadline"); a proof awaiting a decision stops the clock.
- The captain may withdraw before the start: `withdrawn`, slot freed; a verified fee stays
  `verified` on a withdrawn entry, which is the refund request staff see in the queue; staff
  `refund` it with a reason (and a reference) -> payment `refunded`.
- Whenever a slot frees, the first waiting-listed team is offered it: `pending_payment` with a
  new deadline of its own (free entries: `confirmed` or `awaiting_approval` as above).
- The captain may give a phone or WhatsApp number when registering (required when the settings
  say `captain_phone_required`). It is for staff only: the staff queue shows it; no public page,
  API row, export, event data or audit entry carries it.
- Check-in (when `check_in_minutes` is set and the settings give `starts_at`): a confirmed
  team's captain checks in between `starts_at - check_in_minutes` and `starts_at`. At the close
  every team confirmed before the close and not checked in becomes `no_show` (reason
  "no_show") and its slot goes to the waiting list.
- Staff may reject a waiting-listed entry, or one that holds a slot but is not confirmed and
  has no proof awaiting (`rejected`, reason "rejected"; its slot goes to the waiting list). A
  confirmed entry is not rejected: its captain withdraws it.
- A refund is for a verified fee on an entry that ended; decisions on several entries at once
  (`decide_many`) are taken one by one, each in its own transaction.
- Every step is an audit event (target_type "entry"), and each outcome owed to the outside is
  announced as its signal (app/signals.py) inside the same transaction, before the commit:
  `payment_submitted`, `payment_rejected` (with `proof_id`), `registration_confirmed`,
  `registration_cancelled` (with `reason` "deadline" | "withdrawn" | "no_show" | "rejected"),
  plus the existing `payment_verified`/`payment_refunded`; the notification layer writes the
  events in that transaction.

Teammates: the team's `Participant` is made at registration (a confirmed registration *is*
the tournament's participant, and the existing join codes work on it at once), but a
participant whose entry is not `confirmed` is hidden from every public list, standings and
export (`roster_visibility.hidden_participant_ids`). When an entry ends (cancelled, rejected,
withdrawn, no-show) its join code is dropped and its roster released, except a registration
that carries a payment (kept for the refund); the team's name is free again.

Where each part lives, all in app/services/registration/: the captain's steps (register, submit
a proof, withdraw, check in) here; staff decisions in `decisions`; what holds a slot, the
registration lock and the moves every step shares (confirm, end, offer a slot) in `slots`;
saving the settings in `settings_save`; what the public page shows in `public_view`; the timed
steps (deadlines, waiting-list offers, auto-confirmation, no-shows) in `timed_steps`, which the
notification worker calls every few seconds and `flask registrations tick` runs on demand.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app import signals
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models import (
    Entry,
    EntryPaymentStatus,
    EntryStatus,
    Participant,
    PaymentProof,
    ProofStatus,
    Registration,
    Tournament,
    TournamentStatus,
    User,
    is_db_id,
    utcnow,
)
from app.money import format_money
from app.services.accounts import verification as email_verification
from app.services.accounts.players import CODE_ALPHABET
from app.services.inputs.phone import normalize_phone
from app.services.inputs.text import check_name, name_key, storable
from app.services.registration import transactions
from app.services.registration.settings import (
    check_in_window,
    parse_amount,
    settings_for,
    window_state,
)
from app.services.registration.slots import (
    ALIVE,
    ENDED,
    active_user,
    audit_entry,
    end_entry,
    entry_state,
    fill_slots,
    get_tournament,
    lock_registration,
    reload_entry,
    resolve_now,
    slots_taken,
    start_unconfirmed,
)
from app.timestamps import iso_z

REGISTRATION_CODE_LENGTH = 6
MAX_TEAM_NAME = 200
MAX_TAG = 20
SENDER_DIGITS = 4  # the last digits of the paying account a proof may give
MAX_SENDER_DIGITS_TEXT = 8  # as typed, spaces included

# Transaction ids (one, or several for a split payment): the rule is in `transactions`.
MAX_TRANSACTION_ID = transactions.MAX_TRANSACTION_ID
TRANSACTION_PATTERN = transactions.TRANSACTION_PATTERN


def _clean_team(team_name: Any, tag: Any) -> tuple[str, str | None]:
    if not isinstance(team_name, str) or not team_name.strip():
        raise ValidationError("team_name: required")
    # Checked as sent, before trimming: strip() would drop a trailing U+0085 or U+2028 (Python
    # counts them as spaces) and accept what every other entry point refuses.
    check_name(team_name, "team_name")
    team_name = " ".join(team_name.split())
    if len(team_name) > MAX_TEAM_NAME or not storable(team_name):
        raise ValidationError(f"team_name: at most {MAX_TEAM_NAME} characters of text")
    if tag is None or tag == "":
        return team_name, None
    if not isinstance(tag, str) or len(tag.strip()) > MAX_TAG or not storable(tag):
        raise ValidationError(f"tag: at most {MAX_TAG} characters of text")
    check_name(tag, "tag")
    return team_name, tag.strip() or None


def _ended_participants(tournament_id: int):
    return select(Entry.participant_id).where(
        Entry.tournament_id == tournament_id, Entry.status.in_(ENDED), Entry.participant_id.is_not(None)
    )


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(REGISTRATION_CODE_LENGTH))
        if db.session.scalar(select(Entry.id).where(Entry.code == code)) is None:
            return code


def _clean_phone(value: Any, required: bool) -> str | None:
    """The captain's number in its stored form (app/services/inputs/phone.py), None when not
    given; staff read it in the queue, nobody else ever does (module docstring)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("captain_phone: required by the organisers, so they can reach the captain")
        return None
    number = normalize_phone(value) if isinstance(value, str) else None
    if number is None:
        raise ValidationError("captain_phone: a phone number such as +8801712345678 (7 to 15 digits)")
    return number


def register(
    tournament_id: int,
    user_id: int,
    team_name: str,
    tag: str | None = None,
    now: datetime | None = None,
    *,
    captain_phone: str | None = None,
) -> Entry:
    """Register a team with `user_id` as captain: a slot (pending_payment / awaiting_approval /
    confirmed) or the waiting list. Conflict when registration is not open, the player is
    already on a team here or the name is taken. Commits."""
    user = active_user(user_id)
    # While email is on, an address nobody confirmed cannot captain a team (the same rule as
    # joining one with a code).
    email_verification.require_verified(user)
    tournament = get_tournament(tournament_id)
    team_name, tag = _clean_team(team_name, tag)
    given_now = now is not None
    now = resolve_now(now)
    if settings_for(tournament.id) is None:
        raise Conflict("this tournament does not take registrations")
    captain_phone = _clean_phone(captain_phone, settings_for(tournament.id).captain_phone_required)
    settings = lock_registration(tournament.id)
    tournament = db.session.get(Tournament, tournament.id, populate_existing=True)
    state = window_state(settings, tournament, now)
    if state != "open":
        db.session.rollback()
        when = f" (opens {iso_z(settings.opens_at)})" if state == "upcoming" else ""
        raise Conflict(f"registration is not open{when}")
    ended = _ended_participants(tournament.id)
    on_team = db.session.scalar(
        select(Participant.name)
        .join(Registration, Registration.participant_id == Participant.id)
        .where(
            Registration.tournament_id == tournament.id,
            Registration.user_id == user.id,
            Participant.id.not_in(ended),
        )
        .limit(1)
    ) or db.session.scalar(
        select(Entry.team_name).where(
            Entry.tournament_id == tournament.id, Entry.captain_id == user.id, Entry.status.in_(ALIVE)
        )
    )
    if on_team:
        db.session.rollback()
        raise Conflict(f"you are already on {on_team} in this tournament; a player can be on one team per tournament")
    names = db.session.execute(
        select(Participant.name, Participant.key).where(
            Participant.tournament_id == tournament.id, Participant.id.not_in(ended)
        )
    ).all()
    if any(name_key(name) == name_key(team_name) for name, _ in names):
        db.session.rollback()
        raise Conflict(f"team_name: {team_name!r} is already registered in this tournament")
    from app.services.tournaments.setup import _key_from_name  # one rule for participant ids

    all_keys = set(db.session.scalars(select(Participant.key).where(Participant.tournament_id == tournament.id)))
    participant = Participant(
        tournament_id=tournament.id, key=_key_from_name(team_name, all_keys), name=team_name, tag=tag
    )
    db.session.add(participant)
    db.session.flush()
    db.session.add(Registration(tournament_id=tournament.id, participant_id=participant.id, user_id=user.id))
    entry = Entry(
        tournament_id=tournament.id,
        captain_id=user.id,
        team_name=team_name,
        tag=tag,
        code=_new_code(),
        status=EntryStatus.WAITLISTED.value,
        payment_status=EntryPaymentStatus.NONE.value,
        participant_id=participant.id,
        captain_phone=captain_phone,
        created_at=now,
        updated_at=now,
    )
    db.session.add(entry)
    db.session.flush()
    if slots_taken(tournament.id) < settings.capacity:
        start_unconfirmed(entry, settings, now, user.id)
    else:
        # The waiting list is in the order teams got the lock, which is what each answer's
        # position assumes: `now` was read before the lock (a team that waited for it could
        # carry an earlier time than one served before it), so read the time again here, and
        # never before the last team waiting (another host's clock may run behind).
        last = db.session.scalar(
            select(func.max(Entry.waitlisted_at)).where(
                Entry.tournament_id == tournament.id, Entry.status == EntryStatus.WAITLISTED.value
            )
        )
        entry.waitlisted_at = max(t for t in (now if given_now else utcnow(), last) if t is not None)
    db.session.flush()
    audit_entry(
        entry,
        "registered",
        user.id,
        None,
        {
            "team_name": team_name,
            "tag": tag,
            "code": entry.code,
            **entry_state(entry),
            "payment_deadline": iso_z(entry.payment_deadline),
        },
    )
    db.session.commit()
    return entry


def _own_entry(entry_id: Any, user: User) -> Entry:
    entry = db.session.get(Entry, entry_id) if is_db_id(entry_id) else None
    if entry is None or entry.captain_id != user.id:
        raise NotFound(f"no registration {entry_id} of yours")
    return entry


def proof_expected(entry: Entry, now: datetime | None = None) -> None:
    """Conflict unless the entry takes a payment proof now: pending payment, no proof awaiting a
    decision, before its deadline. `submit_proof` checks it under the lock; the proof page checks
    it first too, so a screenshot is never decoded for an entry that cannot take it."""
    now = resolve_now(now)
    if entry.status != EntryStatus.PENDING_PAYMENT.value:
        raise Conflict(f"registration {entry.code} is {entry.status}; no payment is expected")
    if entry.payment_status == EntryPaymentStatus.SUBMITTED.value:
        raise Conflict("a proof is already awaiting the organisers' decision")
    if entry.payment_deadline is not None and now >= entry.payment_deadline:
        raise Conflict("the payment deadline has passed")


def submit_proof(
    entry_id: int,
    user_id: int,
    *,
    method: str,
    transaction_id: str,
    amount: Any,
    sender_last_digits: str = "",
    screenshot_key: str | None = None,
    now: datetime | None = None,
) -> Entry:
    """The captain's proof of payment. Allowed while the entry is pending payment with no proof
    awaiting a decision and before its deadline; every proof is kept. Commits."""
    user = active_user(user_id)
    entry = _own_entry(entry_id, user)
    settings = settings_for(entry.tournament_id)
    now = resolve_now(now)
    if not isinstance(method, str) or not method.strip():
        raise ValidationError("method: required (one of the tournament's payment methods)")
    names = {m["name"].casefold(): m["name"] for m in (settings.methods if settings else [])}
    if method.strip().casefold() not in names:
        raise ValidationError(f"method: one of {', '.join(names.values()) or 'none (this entry is free)'}")
    method = names[method.strip().casefold()]
    transaction_id = transactions.clean_transaction_ids(transaction_id)
    cents = parse_amount(amount)
    if settings is not None and cents < settings.fee_cents:
        raise ValidationError(
            f"amount: the entry fee is {format_money(settings.fee_cents, settings.currency)}; "
            f"{format_money(cents, settings.currency)} is less"
        )
    sender_last_digits = (
        (sender_last_digits or "").strip() if isinstance(sender_last_digits, str | type(None)) else None
    )
    if sender_last_digits is None or not re.fullmatch(rf"\d{{0,{SENDER_DIGITS}}}", sender_last_digits):
        raise ValidationError(f"sender_last_digits: up to the last {SENDER_DIGITS} digits of the paying account")
    if screenshot_key is not None and (not isinstance(screenshot_key, str) or not 0 < len(screenshot_key) <= 200):
        raise ValidationError("screenshot: not stored")
    settings = lock_registration(entry.tournament_id)
    entry = reload_entry(entry.id)
    try:
        proof_expected(entry, now)
    except Conflict:
        db.session.rollback()
        raise
    before = entry_state(entry)
    proof = PaymentProof(
        entry_id=entry.id,
        method=method,
        transaction_id=transaction_id,
        amount_cents=cents,
        currency=settings.currency,
        sender_last_digits=sender_last_digits,
        screenshot_key=screenshot_key,
        status=ProofStatus.SUBMITTED.value,
        created_at=now,
    )
    db.session.add(proof)
    entry.payment_status = EntryPaymentStatus.SUBMITTED.value
    db.session.flush()
    audit_entry(entry, "proof_submitted", user.id, before, {**entry_state(entry), "proof_id": proof.id})
    signals.payment_submitted.send(entry, entry_id=entry.id, proof_id=proof.id, actor_id=user.id)
    db.session.commit()
    return entry


def withdraw(entry_id: int, user_id: int, now: datetime | None = None) -> Entry:
    """The captain withdraws the team before the start; the slot goes to the waiting list and a
    verified fee becomes a refund request. Commits."""
    user = active_user(user_id)
    entry = _own_entry(entry_id, user)
    now = resolve_now(now)
    settings = lock_registration(entry.tournament_id)
    entry = reload_entry(entry.id)
    tournament = db.session.get(Tournament, entry.tournament_id, populate_existing=True)
    if entry.status not in ALIVE:
        db.session.rollback()
        raise Conflict(f"registration {entry.code} is already {entry.status}")
    started = tournament.status in (TournamentStatus.LIVE.value, TournamentStatus.COMPLETED.value) or (
        settings.starts_at is not None and now >= settings.starts_at
    )
    if started:
        db.session.rollback()
        raise Conflict("the tournament has started; ask the organisers")
    before = entry_state(entry)
    end_entry(entry, EntryStatus.WITHDRAWN.value, "withdrawn", user.id)
    audit_entry(entry, "withdrawn", user.id, before, entry_state(entry))
    fill_slots(settings, now)
    db.session.commit()
    return entry


def check_in(entry_id: int, user_id: int, now: datetime | None = None) -> Entry:
    """The captain checks a confirmed team in during the window; checking in twice changes
    nothing. Commits."""
    user = active_user(user_id)
    entry = _own_entry(entry_id, user)
    now = resolve_now(now)
    settings = lock_registration(entry.tournament_id)
    entry = reload_entry(entry.id)
    opens, closes = check_in_window(settings)
    if opens is None:
        db.session.rollback()
        raise Conflict("this tournament has no check-in")
    if entry.status != EntryStatus.CONFIRMED.value:
        db.session.rollback()
        raise Conflict(f"registration {entry.code} is {entry.status}; only confirmed teams check in")
    if entry.checked_in_at is not None:
        db.session.rollback()
        return entry
    if not opens <= now < closes:
        db.session.rollback()
        raise Conflict(f"check-in is open from {iso_z(opens)} to {iso_z(closes)}")
    entry.checked_in_at = now
    audit_entry(entry, "checked_in", user.id, None, {"checked_in_at": iso_z(now)})
    db.session.commit()
    return entry
