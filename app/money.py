"""One way to write an amount of money, for pages and emails alike: "BDT 500.00" (the currency
code first, two decimals, no thousands separator), so a captain comparing the email with the
registration page sees the same text."""

from __future__ import annotations

from decimal import Decimal


def format_money(cents: int, currency: str) -> str:
    return f"{currency} {Decimal(cents) / 100:.2f}"


# How the usual Bangladeshi mobile-money methods are spelt; any other name as the organiser wrote it.
METHOD_NAMES = {"bkash": "bKash", "nagad": "Nagad", "rocket": "Rocket"}


def method_name(method: str) -> str:
    return METHOD_NAMES.get((method or "").lower(), method or "")
