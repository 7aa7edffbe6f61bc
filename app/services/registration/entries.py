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
  registering). The captain submits proof (method, transaction id, amount, sender's last digits,
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

Timed steps (deadlines, waiting-list offers, auto-confirmation, no-shows) run in
`run_timed_steps(now)`, which the notification worker calls every few seconds and
`flask registrations tick` runs on demand.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app import signals
from app.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from app.extensions import db
from app.models import (
    Entry,
    EntryPaymentStatus,
    EntryStatus,
    Participant,
    Payment,
    PaymentProof,
    PaymentStatus,
    ProofStatus,
    Registration,
    RegistrationSettings,
    TeamJoinCode,
    Tournament,
    TournamentStatus,
    User,
    is_db_id,
    utcnow,
)
from app.services import audit
from app.services.accounts import verification as email_verification
from app.services.accounts.players import CODE_ALPHABET
from app.services.inputs.text import check_name, storable
from app.services.registration import payments
from app.services.registration.settings import (
    check_in_window,
    format_money,
    parse_amount,
    parse_settings,
    settings_for,
    settings_to_json,
    window_state,
)
from app.timestamps import iso_z

REGISTRATION_CODE_LENGTH = 6
MAX_TEAM_NAME = 200
MAX_TAG = 20
MAX_REASON = 1000
MAX_REFERENCE = 120

SLOT_HOLDING = frozenset(
    {EntryStatus.PENDING_PAYMENT.value, EntryStatus.AWAITING_APPROVAL.value, EntryStatus.CONFIRMED.value}
)
ALIVE = SLOT_HOLDING | {EntryStatus.WAITLISTED.value}
ENDED = frozenset(
    {EntryStatus.REJECTED.value, EntryStatus.CANCELLED.value, EntryStatus.WITHDRAWN.value, EntryStatus.NO_SHOW.value}
)
DECISIONS = ("verify", "reject", "waive", "approve", "refund")
REASON_REQUIRED = frozenset({"reject", "refund"})
# Queue filters beyond the entry statuses: what staff look for first.
QUEUE_FILTERS = ("proof_submitted", "refund_requested")

# A transaction id as the payment apps show it (a portable regex: api_bodies states it too).
MAX_TRANSACTION_ID = 80
TRANSACTION_PATTERN = f"[A-Za-z0-9][A-Za-z0-9._/-]{{2,{MAX_TRANSACTION_ID - 1}}}"
_TXN_RE = re.compile(TRANSACTION_PATTERN)


# --------------------------------------------------------------------------- small helpers


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _active_user(user_id: Any) -> User:
    user = db.session.get(User, user_id) if is_db_id(user_id) else None
    if user is None or not user.is_active:
        raise PermissionDenied("log in to do this")
    return user


def _staff(actor_id: Any) -> User:
    user = db.session.get(User, actor_id) if is_db_id(actor_id) else None
    if user is None or not user.is_active or not user.can_staff:
        raise PermissionDenied("only staff can do this")
    return user


def _tournament(tournament_id: Any) -> Tournament:
    tournament = db.session.get(Tournament, tournament_id) if is_db_id(tournament_id) else None
    if tournament is None:
        raise NotFound(f"no tournament {tournament_id}")
    return tournament


def _lock(tournament_id: int) -> RegistrationSettings:
    """Take the tournament's registration lock for this transaction and return the settings as
    the previous holder committed them (see the module docstring)."""
    settings_id = db.session.execute(
        update(RegistrationSettings)
        .where(RegistrationSettings.tournament_id == tournament_id)
        .values(lock_version=RegistrationSettings.lock_version + 1)
        .returning(RegistrationSettings.id)
    ).scalar_one_or_none()
    if settings_id is None:
        raise Conflict("registration is not set up for this tournament")
    return db.session.get(RegistrationSettings, settings_id, populate_existing=True)


def _reload(entry_id: Any) -> Entry:
    entry = db.session.get(Entry, entry_id, populate_existing=True) if is_db_id(entry_id) else None
    if entry is None:
        raise NotFound(f"no registration {entry_id}")
    return entry


def _taken(tournament_id: int) -> int:
    return db.session.scalar(
        select(func.count(Entry.id)).where(Entry.tournament_id == tournament_id, Entry.status.in_(SLOT_HOLDING))
    )


def _roster_size(entry: Entry) -> int:
    if entry.participant_id is None:
        return 0
    return db.session.scalar(
        select(func.count(Registration.id)).where(Registration.participant_id == entry.participant_id)
    )


def _check_roster(entry: Entry, settings: RegistrationSettings) -> None:
    size = _roster_size(entry)
    if not settings.roster_min <= size <= settings.roster_max:
        wanted = (
            f"exactly {settings.roster_min}"
            if settings.roster_min == settings.roster_max
            else f"{settings.roster_min} to {settings.roster_max}"
        )
        raise Conflict(
            f"{entry.team_name} has {size} player{'s' if size != 1 else ''} on its roster; this tournament "
            f"needs {wanted}. Teammates join with the team's join code."
        )


def _roster_ok(entry: Entry, settings: RegistrationSettings) -> bool:
    return settings.roster_min <= _roster_size(entry) <= settings.roster_max


def _audit(
    entry: Entry, action: str, actor_id: int | None, before: dict | None, after: dict | None, reason: str | None = None
) -> None:
    audit.record(
        f"entry.{action}",
        target_type="entry",
        target_id=entry.id,
        actor_id=actor_id,
        tournament_id=entry.tournament_id,
        before=before,
        after=after,
        reason=reason or None,
    )


def _state(entry: Entry) -> dict[str, Any]:
    return {"status": entry.status, "payment_status": entry.payment_status}


def _confirm(entry: Entry, now: datetime, actor_id: int | None) -> None:
    entry.status = EntryStatus.CONFIRMED.value
    entry.confirmed_at = now
    entry.payment_deadline = None
    db.session.flush()
    signals.registration_confirmed.send(entry, entry_id=entry.id, actor_id=actor_id)


def _end(entry: Entry, status: str, reason: str, actor_id: int | None) -> None:
    """Move an entry to an end state: roster released (a registration carrying a payment is
    kept for its refund), join code dropped, `registration.cancelled` owed."""
    entry.status = status
    entry.end_reason = reason
    entry.payment_deadline = None
    if entry.participant_id is not None:
        db.session.execute(db.delete(TeamJoinCode).where(TeamJoinCode.participant_id == entry.participant_id))
        paid = select(Payment.registration_id)
        db.session.execute(
            db.delete(Registration).where(
                Registration.participant_id == entry.participant_id, Registration.id.not_in(paid)
            )
        )
    db.session.flush()
    signals.registration_cancelled.send(entry, entry_id=entry.id, actor_id=actor_id, reason=reason)


def _start_unconfirmed(entry: Entry, settings: RegistrationSettings, now: datetime, actor_id: int | None) -> None:
    """A team that just got a slot (new or offered from the waiting list)."""
    if settings.fee_cents > 0:
        entry.status = EntryStatus.PENDING_PAYMENT.value
        entry.payment_deadline = now + timedelta(hours=settings.payment_deadline_hours)
        return
    entry.status = EntryStatus.AWAITING_APPROVAL.value
    if settings.auto_confirm_free:
        if _roster_ok(entry, settings):
            _confirm(entry, now, actor_id)
        else:
            entry.payment_deadline = now + timedelta(hours=settings.payment_deadline_hours)
    else:
        entry.payment_deadline = None


def _fill_slots(settings: RegistrationSettings, now: datetime) -> int:
    """Offer free slots to the waiting list, first come first served. Caller holds the lock."""
    tournament = db.session.get(Tournament, settings.tournament_id)
    if tournament.status == TournamentStatus.COMPLETED.value:
        return 0
    offered = 0
    free = settings.capacity - _taken(settings.tournament_id)
    while free > 0:
        entry = db.session.scalars(
            select(Entry)
            .where(Entry.tournament_id == settings.tournament_id, Entry.status == EntryStatus.WAITLISTED.value)
            .order_by(Entry.waitlisted_at, Entry.id)
            .limit(1)
        ).first()
        if entry is None:
            break
        before = _state(entry)
        _start_unconfirmed(entry, settings, now, None)
        _audit(
            entry, "offered_slot", None, before, {**_state(entry), "payment_deadline": iso_z(entry.payment_deadline)}
        )
        db.session.flush()
        if entry.status != EntryStatus.CONFIRMED.value:  # a confirmation announces itself
            signals.registration_offered.send(entry, entry_id=entry.id)
        free -= 1
        offered += 1
    return offered


# --------------------------------------------------------------------------- settings


def save_settings(
    tournament_id: int, payload: dict, actor_id: int, now: datetime | None = None
) -> RegistrationSettings:
    """Create or replace a tournament's settings from the contract §7 JSON shape (plus the
    optional `starts_at`). Capacity cannot drop below the teams already holding a slot; a
    larger capacity offers the new slots to the waiting list at once. Staff only; commits."""
    actor = _staff(actor_id)
    tournament = _tournament(tournament_id)
    values = parse_settings(payload)
    now = _now(now)
    settings = settings_for(tournament.id)
    if settings is None:
        settings = RegistrationSettings(tournament_id=tournament.id, **values)
        db.session.add(settings)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            raise Conflict("the settings were created by someone else just now; reload and try again") from None
        before = None
    else:
        settings = _lock(tournament.id)
        before = settings_to_json(settings)
        taken = _taken(tournament.id)
        if values["capacity"] < taken:
            db.session.rollback()
            raise Conflict(f"capacity: {taken} teams already hold a slot; the capacity cannot be lower")
        for name, value in values.items():
            setattr(settings, name, value)
        db.session.flush()
        _fill_slots(settings, now)
    audit.record(
        "registration.settings_saved",
        target_type="tournament",
        target_id=tournament.id,
        actor_id=actor.id,
        tournament_id=tournament.id,
        before=before,
        after=settings_to_json(settings),
    )
    db.session.commit()
    return settings


@dataclass(frozen=True)
class RegistrationView:
    """What the public page and the captain's page show about registration right now."""

    state: str  # none | upcoming | open | waitlist | closed
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    starts_at: datetime | None = None
    capacity: int = 0
    taken: int = 0
    slots_left: int = 0
    waitlisted: int = 0
    fee_cents: int = 0
    currency: str = "BDT"
    fee_display: str = "Free"
    methods: list[dict[str, str]] = field(default_factory=list)
    payment_deadline_hours: int = 48
    roster_min: int = 1
    roster_max: int = 1
    check_in_opens_at: datetime | None = None
    check_in_closes_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.state in ("open", "waitlist")


def public_state(tournament: Tournament, now: datetime | None = None) -> RegistrationView:
    """The registration state the public page shows (see RegistrationView.state)."""
    settings = settings_for(tournament.id)
    if settings is None:
        return RegistrationView(state="none")
    now = _now(now)
    taken = _taken(tournament.id)
    waitlisted = db.session.scalar(
        select(func.count(Entry.id)).where(
            Entry.tournament_id == tournament.id, Entry.status == EntryStatus.WAITLISTED.value
        )
    )
    state = window_state(settings, tournament, now)
    if state == "open" and taken >= settings.capacity:
        state = "waitlist"
    opens, closes = check_in_window(settings)
    return RegistrationView(
        state=state,
        opens_at=settings.opens_at,
        closes_at=settings.closes_at,
        starts_at=settings.starts_at,
        capacity=settings.capacity,
        taken=taken,
        slots_left=max(settings.capacity - taken, 0),
        waitlisted=waitlisted,
        fee_cents=settings.fee_cents,
        currency=settings.currency,
        fee_display=format_money(settings.fee_cents, settings.currency) if settings.fee_cents else "Free",
        methods=[dict(m) for m in settings.methods or []],
        payment_deadline_hours=settings.payment_deadline_hours,
        roster_min=settings.roster_min,
        roster_max=settings.roster_max,
        check_in_opens_at=opens,
        check_in_closes_at=closes,
    )


# --------------------------------------------------------------------------- captains


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


def register(
    tournament_id: int, user_id: int, team_name: str, tag: str | None = None, now: datetime | None = None
) -> Entry:
    """Register a team with `user_id` as captain: a slot (pending_payment / awaiting_approval /
    confirmed) or the waiting list. Conflict when registration is not open, the player is
    already on a team here or the name is taken. Commits."""
    user = _active_user(user_id)
    # While email is on, an address nobody confirmed cannot captain a team (the same rule as
    # joining one with a code).
    email_verification.require_verified(user)
    tournament = _tournament(tournament_id)
    team_name, tag = _clean_team(team_name, tag)
    now = _now(now)
    if settings_for(tournament.id) is None:
        raise Conflict("this tournament does not take registrations")
    settings = _lock(tournament.id)
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
    if any(name.casefold() == team_name.casefold() for name, _ in names):
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
        created_at=now,
        updated_at=now,
    )
    db.session.add(entry)
    db.session.flush()
    if _taken(tournament.id) < settings.capacity:
        _start_unconfirmed(entry, settings, now, user.id)
    else:
        entry.waitlisted_at = now
    db.session.flush()
    _audit(
        entry,
        "registered",
        user.id,
        None,
        {
            "team_name": team_name,
            "tag": tag,
            "code": entry.code,
            **_state(entry),
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
    user = _active_user(user_id)
    entry = _own_entry(entry_id, user)
    settings = settings_for(entry.tournament_id)
    now = _now(now)
    if not isinstance(method, str) or not method.strip():
        raise ValidationError("method: required (one of the tournament's payment methods)")
    names = {m["name"].casefold(): m["name"] for m in (settings.methods if settings else [])}
    if method.strip().casefold() not in names:
        raise ValidationError(f"method: one of {', '.join(names.values()) or 'none (this entry is free)'}")
    method = names[method.strip().casefold()]
    if not isinstance(transaction_id, str) or not _TXN_RE.fullmatch(transaction_id.strip()):
        raise ValidationError("transaction_id: 3 to 80 letters and digits as the payment app shows it")
    transaction_id = transaction_id.strip().upper()
    cents = parse_amount(amount)
    if settings is not None and cents < settings.fee_cents:
        raise ValidationError(
            f"amount: the entry fee is {format_money(settings.fee_cents, settings.currency)}; "
            f"{format_money(cents, settings.currency)} is less"
        )
    sender_last_digits = (
        (sender_last_digits or "").strip() if isinstance(sender_last_digits, str | type(None)) else None
    )
    if sender_last_digits is None or not re.fullmatch(r"\d{0,4}", sender_last_digits):
        raise ValidationError("sender_last_digits: up to the last 4 digits of the paying account")
    if screenshot_key is not None and (not isinstance(screenshot_key, str) or not 0 < len(screenshot_key) <= 200):
        raise ValidationError("screenshot: not stored")
    settings = _lock(entry.tournament_id)
    entry = _reload(entry.id)
    if entry.status != EntryStatus.PENDING_PAYMENT.value:
        db.session.rollback()
        raise Conflict(f"registration {entry.code} is {entry.status}; no payment is expected")
    if entry.payment_status == EntryPaymentStatus.SUBMITTED.value:
        db.session.rollback()
        raise Conflict("a proof is already awaiting the organisers' decision")
    if entry.payment_deadline is not None and now >= entry.payment_deadline:
        db.session.rollback()
        raise Conflict("the payment deadline has passed")
    before = _state(entry)
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
    _audit(entry, "proof_submitted", user.id, before, {**_state(entry), "proof_id": proof.id})
    signals.payment_submitted.send(entry, entry_id=entry.id, proof_id=proof.id, actor_id=user.id)
    db.session.commit()
    return entry


def withdraw(entry_id: int, user_id: int, now: datetime | None = None) -> Entry:
    """The captain withdraws the team before the start; the slot goes to the waiting list and a
    verified fee becomes a refund request. Commits."""
    user = _active_user(user_id)
    entry = _own_entry(entry_id, user)
    now = _now(now)
    settings = _lock(entry.tournament_id)
    entry = _reload(entry.id)
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
    before = _state(entry)
    _end(entry, EntryStatus.WITHDRAWN.value, "withdrawn", user.id)
    _audit(entry, "withdrawn", user.id, before, _state(entry))
    _fill_slots(settings, now)
    db.session.commit()
    return entry


def check_in(entry_id: int, user_id: int, now: datetime | None = None) -> Entry:
    """The captain checks a confirmed team in during the window; checking in twice changes
    nothing. Commits."""
    user = _active_user(user_id)
    entry = _own_entry(entry_id, user)
    now = _now(now)
    settings = _lock(entry.tournament_id)
    entry = _reload(entry.id)
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
    _audit(entry, "checked_in", user.id, None, {"checked_in_at": iso_z(now)})
    db.session.commit()
    return entry


# --------------------------------------------------------------------------- staff


def _captain_registration(entry: Entry) -> Registration:
    rows = list(
        db.session.scalars(
            select(Registration).where(Registration.participant_id == entry.participant_id).order_by(Registration.id)
        )
    )
    for row in rows:
        if row.user_id == entry.captain_id:
            return row
    if rows:
        return rows[0]
    raise Conflict(f"{entry.team_name} has nobody on its roster")


def _latest_proof(entry: Entry, status: str) -> PaymentProof | None:
    return db.session.scalars(
        select(PaymentProof)
        .where(PaymentProof.entry_id == entry.id, PaymentProof.status == status)
        .order_by(PaymentProof.id.desc())
        .limit(1)
    ).first()


def decide(
    entry_id: int,
    decision: str,
    actor_id: int,
    *,
    reason: str = "",
    reference: str = "",
    now: datetime | None = None,
) -> Entry:
    """A staff decision: verify (the submitted proof), reject (the submitted proof, or the whole
    entry when no proof awaits), waive (the fee), approve (a free entry), refund (a verified fee
    on an entry that ended). Reason required for reject and refund. Commits."""
    actor = _staff(actor_id)
    if decision not in DECISIONS:
        raise ValidationError(f"decision: one of {', '.join(DECISIONS)}")
    if not isinstance(reason, str) or not isinstance(reference, str):
        raise ValidationError("reason: text")
    reason, reference = reason.strip(), reference.strip()
    if decision in REASON_REQUIRED and not reason:
        raise ValidationError(f"reason: required to {decision}")
    if len(reason) > MAX_REASON or not storable(reason):
        raise ValidationError(f"reason: at most {MAX_REASON} characters of text")
    if len(reference) > MAX_REFERENCE or not storable(reference):
        raise ValidationError(f"reference: at most {MAX_REFERENCE} characters of text")
    entry = db.session.get(Entry, entry_id) if is_db_id(entry_id) else None
    if entry is None:
        raise NotFound(f"no registration {entry_id}")
    now = _now(now)
    settings = _lock(entry.tournament_id)
    entry = _reload(entry.id)
    before = _state(entry)
    done = {"reject": "rejected", "waive": "waived", "approve": "approved", "refund": "refunded"}
    refuse = Conflict(
        f"registration {entry.code} is {entry.status} (payment {entry.payment_status}); it cannot be {done[decision]}"
        if decision != "verify"
        else f"registration {entry.code} has no proof awaiting a decision"
    )
    try:
        if decision == "verify":
            proof = _latest_proof(entry, ProofStatus.SUBMITTED.value)
            if (
                entry.status != EntryStatus.PENDING_PAYMENT.value
                or entry.payment_status != EntryPaymentStatus.SUBMITTED.value
                or proof is None
            ):
                raise refuse
            _check_roster(entry, settings)
            proof.status = ProofStatus.VERIFIED.value
            proof.decided_by, proof.decided_at = actor.id, now
            entry.payment_status = EntryPaymentStatus.VERIFIED.value
            payment = Payment(
                registration_id=_captain_registration(entry).id,
                amount_cents=proof.amount_cents,
                currency=proof.currency,
                method=proof.method,
                reference=proof.transaction_id,
                status=PaymentStatus.PENDING.value,
            )
            db.session.add(payment)
            db.session.flush()
            entry.payment_id = payment.id
            _confirm(entry, now, actor.id)
            _audit(
                entry, "verified", actor.id, before, {**_state(entry), "proof_id": proof.id, "payment_id": payment.id}
            )
            # The same rule as a Payments-tab verification: PaymentVerification, audit,
            # payment.verified and its signal; it commits this whole transaction.
            payments.verify_payment(payment.id, actor.id)
            return entry
        if decision == "refund":
            if entry.payment_status != EntryPaymentStatus.VERIFIED.value or entry.payment_id is None:
                raise refuse
            if entry.status not in ENDED:
                raise Conflict(f"{entry.team_name} still holds its slot; a fee is refunded after the team withdraws")
            proof = _latest_proof(entry, ProofStatus.VERIFIED.value)
            if proof is not None:
                proof.status = ProofStatus.REFUNDED.value
                proof.reference = reference
            entry.payment_status = EntryPaymentStatus.REFUNDED.value
            _audit(entry, "refunded", actor.id, before, {**_state(entry), "reference": reference or None}, reason)
            payments.refund_payment(entry.payment_id, actor.id, reason)
            return entry
        if decision == "reject":
            proof = _latest_proof(entry, ProofStatus.SUBMITTED.value)
            if (
                entry.status == EntryStatus.PENDING_PAYMENT.value
                and entry.payment_status == EntryPaymentStatus.SUBMITTED.value
                and proof is not None
            ):
                proof.status = ProofStatus.REJECTED.value
                proof.decided_by, proof.decided_at, proof.reason = actor.id, now, reason
                entry.payment_status = EntryPaymentStatus.REJECTED.value
                fresh = now + timedelta(hours=settings.payment_deadline_hours)
                if entry.payment_deadline is None or entry.payment_deadline < fresh:
                    entry.payment_deadline = fresh
                db.session.flush()
                _audit(entry, "proof_rejected", actor.id, before, {**_state(entry), "proof_id": proof.id}, reason)
                signals.payment_rejected.send(entry, entry_id=entry.id, proof_id=proof.id, actor_id=actor.id)
            elif entry.status in ALIVE - {EntryStatus.CONFIRMED.value}:
                held = entry.status in SLOT_HOLDING
                _end(entry, EntryStatus.REJECTED.value, "rejected", actor.id)
                _audit(entry, "rejected", actor.id, before, _state(entry), reason)
                if held:
                    _fill_slots(settings, now)
            else:
                raise refuse
        elif decision == "waive":
            if entry.status != EntryStatus.PENDING_PAYMENT.value:
                raise refuse
            _check_roster(entry, settings)
            entry.payment_status = EntryPaymentStatus.WAIVED.value
            _confirm(entry, now, actor.id)
            _audit(entry, "fee_waived", actor.id, before, _state(entry), reason)
        elif decision == "approve":
            if entry.status != EntryStatus.AWAITING_APPROVAL.value:
                raise refuse
            _check_roster(entry, settings)
            _confirm(entry, now, actor.id)
            _audit(entry, "approved", actor.id, before, _state(entry), reason)
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return entry


def decide_many(entry_ids: list[int], decision: str, actor_id: int, *, reason: str = "") -> list[Entry]:
    """The same decision on several entries, each in its own transaction (one refusal does not
    undo the others). Returns the entries decided; raises the first refusal's error only when
    none could be decided."""
    if not isinstance(entry_ids, list | tuple) or not entry_ids:
        raise ValidationError("entry_ids: choose at least one registration")
    if len(entry_ids) > 500:
        raise ValidationError("entry_ids: at most 500 at once")
    _staff(actor_id)
    decided: list[Entry] = []
    first_error: DomainError | None = None
    for entry_id in dict.fromkeys(entry_ids):
        try:
            decided.append(decide(entry_id, decision, actor_id, reason=reason))
        except DomainError as exc:
            first_error = first_error or exc
    if not decided and first_error is not None:
        raise first_error
    return decided


# --------------------------------------------------------------------------- timed steps


def _due_tournaments(candidates: list[RegistrationSettings], now: datetime) -> set[int]:
    """The tournaments (among `candidates`) with a step to take now. A handful of set-based
    reads whatever the number of tournaments, and no lock or write: an idle tick is cheap."""
    by_id = {settings.tournament_id: settings for settings in candidates}
    if not by_id:
        return set()
    ids = list(by_id)
    due = set(
        db.session.scalars(
            select(Entry.tournament_id)
            .where(
                Entry.tournament_id.in_(ids),
                Entry.status.in_((EntryStatus.PENDING_PAYMENT.value, EntryStatus.AWAITING_APPROVAL.value)),
                Entry.payment_status.in_((EntryPaymentStatus.NONE.value, EntryPaymentStatus.REJECTED.value)),
                Entry.payment_deadline <= now,
            )
            .distinct()
        )
    )
    counts: dict[int, dict[str, int]] = {}
    for tid, status, n in db.session.execute(
        select(Entry.tournament_id, Entry.status, func.count(Entry.id))
        .where(Entry.tournament_id.in_(ids), Entry.status.in_(ALIVE))
        .group_by(Entry.tournament_id, Entry.status)
    ):
        counts.setdefault(tid, {})[status] = n
    for tid, by_status in counts.items():
        taken = sum(n for status, n in by_status.items() if status in SLOT_HOLDING)
        if by_status.get(EntryStatus.WAITLISTED.value) and taken < by_id[tid].capacity:
            due.add(tid)
    auto_free = [t for t, s in by_id.items() if s.fee_cents == 0 and s.auto_confirm_free and t not in due]
    if auto_free:
        sizes = db.session.execute(
            select(Entry.tournament_id, func.count(Registration.id))
            .join(Registration, Registration.participant_id == Entry.participant_id)
            .where(Entry.tournament_id.in_(auto_free), Entry.status == EntryStatus.AWAITING_APPROVAL.value)
            .group_by(Entry.tournament_id, Entry.id)
        )
        due.update(t for t, size in sizes if by_id[t].roster_min <= size <= by_id[t].roster_max)
    for tid, settings in by_id.items():
        _, closes = check_in_window(settings)
        if tid in due or closes is None or now < closes:
            continue
        if db.session.scalar(
            select(Entry.id)
            .where(
                Entry.tournament_id == tid,
                Entry.status == EntryStatus.CONFIRMED.value,
                Entry.checked_in_at.is_(None),
                Entry.confirmed_at < closes,
            )
            .limit(1)
        ):
            due.add(tid)
    return due


def _steps_for(tournament_id: int, now: datetime, counts: dict[str, int]) -> None:
    settings = _lock(tournament_id)
    alive_unpaid = list(
        db.session.scalars(
            select(Entry)
            .where(
                Entry.tournament_id == tournament_id,
                Entry.status.in_((EntryStatus.PENDING_PAYMENT.value, EntryStatus.AWAITING_APPROVAL.value)),
                Entry.payment_status.in_((EntryPaymentStatus.NONE.value, EntryPaymentStatus.REJECTED.value)),
            )
            .order_by(Entry.id)
        )
    )
    for entry in alive_unpaid:
        before = _state(entry)
        if (
            entry.status == EntryStatus.AWAITING_APPROVAL.value
            and settings.fee_cents == 0
            and settings.auto_confirm_free
            and _roster_ok(entry, settings)
        ):
            _confirm(entry, now, None)
            _audit(entry, "auto_confirmed", None, before, _state(entry))
            counts["confirmed"] += 1
        elif entry.payment_deadline is not None and now >= entry.payment_deadline:
            _end(entry, EntryStatus.CANCELLED.value, "deadline", None)
            _audit(entry, "deadline_passed", None, before, _state(entry))
            counts["cancelled"] += 1
    _, closes = check_in_window(settings)
    if closes is not None and now >= closes:
        for entry in db.session.scalars(
            select(Entry)
            .where(
                Entry.tournament_id == tournament_id,
                Entry.status == EntryStatus.CONFIRMED.value,
                Entry.checked_in_at.is_(None),
                Entry.confirmed_at < closes,
            )
            .order_by(Entry.id)
        ).all():
            before = _state(entry)
            _end(entry, EntryStatus.NO_SHOW.value, "no_show", None)
            _audit(entry, "no_show", None, before, _state(entry))
            counts["no_show"] += 1
    counts["offered"] += _fill_slots(settings, now)
    db.session.commit()


def run_timed_steps(now: datetime | None = None) -> dict[str, int]:
    """Deadlines, auto-confirmation of free entries whose roster filled, check-in no-shows and
    waiting-list offers, for every tournament not completed; one transaction per tournament
    that has something due (finding them costs a few reads in all). Returns what it did."""
    now = _now(now)
    counts = {"cancelled": 0, "confirmed": 0, "no_show": 0, "offered": 0}
    candidates = list(
        db.session.scalars(
            select(RegistrationSettings)
            .join(Tournament, Tournament.id == RegistrationSettings.tournament_id)
            .where(Tournament.status != TournamentStatus.COMPLETED.value)
            .order_by(RegistrationSettings.id)
        )
    )
    due = _due_tournaments(candidates, now)
    db.session.rollback()  # end the read-only transaction the checks opened
    for tournament_id in sorted(due):
        try:
            _steps_for(tournament_id, now, counts)
        except Exception:
            db.session.rollback()
            raise
    return counts
