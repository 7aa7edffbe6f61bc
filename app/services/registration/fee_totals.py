"""How much entry-fee money a tournament has collected, per payment method and currency.

The rule: the ledger is the tournament's `Payment` rows (every verified proof made one; the
Payments tab records others). Verified counts every payment staff verified, including those
refunded since; refunded counts the refunded ones; collected is verified minus refunded, which
is the money the organisers still hold. Pending and rejected payments never count. Methods are
grouped ignoring case ("bKash" and "bkash" are one method); each currency is totalled apart,
never added to another.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from app.extensions import db
from app.models import Payment, PaymentStatus, Registration

_COUNTED = (PaymentStatus.VERIFIED.value, PaymentStatus.REFUNDED.value)


@dataclass(frozen=True)
class MethodTotal:
    method: str  # lower case; "" when the payment named none
    currency: str
    payments: int
    verified_cents: int
    refunded_cents: int

    @property
    def collected_cents(self) -> int:
        return self.verified_cents - self.refunded_cents


def totals(tournament_id: int) -> list[MethodTotal]:
    """One row per (method, currency) with a verified payment, by currency then method."""
    method = func.lower(func.trim(Payment.method))
    refunded = case((Payment.status == PaymentStatus.REFUNDED.value, Payment.amount_cents), else_=0)
    rows = db.session.execute(
        select(
            method,
            Payment.currency,
            func.count(Payment.id),
            func.coalesce(func.sum(Payment.amount_cents), 0),
            func.coalesce(func.sum(refunded), 0),
        )
        .join(Registration, Registration.id == Payment.registration_id)
        .where(Registration.tournament_id == tournament_id, Payment.status.in_(_COUNTED))
        .group_by(method, Payment.currency)
        .order_by(Payment.currency, method)
    ).all()
    return [MethodTotal(m or "", c, int(n), int(v), int(r)) for m, c, n, v, r in rows]


def currency_totals(rows: list[MethodTotal]) -> list[MethodTotal]:
    """The sum of `rows` per currency (method ""), for the line under the table."""
    by_currency: dict[str, MethodTotal] = {}
    for row in rows:
        seen = by_currency.get(row.currency)
        by_currency[row.currency] = MethodTotal(
            "",
            row.currency,
            row.payments + (seen.payments if seen else 0),
            row.verified_cents + (seen.verified_cents if seen else 0),
            row.refunded_cents + (seen.refunded_cents if seen else 0),
        )
    return [by_currency[c] for c in sorted(by_currency)]
