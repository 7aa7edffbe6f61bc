"""`flask outbox ...`: upkeep of the notification outbox (pruning, retrying what failed, the
encryption keys of endpoint secrets). The rules live in `app.notifications`."""

from __future__ import annotations

import click
from cryptography.fernet import InvalidToken
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import text

from app.cli.groups import cli_errors
from app.errors import ValidationError
from app.extensions import db
from app.notifications import endpoints, prune, sealed
from app.notifications.clock import db_now

outbox_cli = AppGroup("outbox", help="Prune old rows, retry failed webhooks, re-encrypt endpoint secrets.")


@outbox_cli.command("prune")
@click.option("--days", type=click.FloatRange(min=0), default=None, help="Override NOTIFICATIONS_RETENTION_DAYS.")
@cli_errors
def prune_command(days: float | None) -> None:
    """Delete delivered events, their attempts and inbox items older than the retention period
    (undelivered rows are kept), in small batches."""
    done = prune.prune(current_app.config, db_now(), days=days)
    click.echo(
        f"Pruned {done.events} events, {done.deliveries} deliveries, {done.attempts} attempts, "
        f"{done.inbox_items} inbox items."
    )


@outbox_cli.command("retry-failed")
@click.argument("endpoint")
@click.option("--since", required=True, help="ISO 8601 time, e.g. 2026-11-28T09:00:00Z.")
@cli_errors
def retry_failed_command(endpoint: str, since: str) -> None:
    """Queue again every failed webhook delivery to ENDPOINT (an endpoint id, or `default` for
    WEBHOOK_DELIVERY_URL) created since the given time."""
    if endpoint == "default":
        endpoint_id = None
    elif endpoint.isdigit() and len(endpoint) < 10:
        endpoint_id = int(endpoint)
    else:
        raise ValidationError(f"endpoint: give an endpoint id or `default`, not {endpoint[:40]!r}")
    count = endpoints.retry_failed(endpoint_id, since, actor_id=None)
    click.echo(f"Queued {count} failed deliver{'y' if count == 1 else 'ies'} again.")


@outbox_cli.command("reencrypt")
@cli_errors
def reencrypt_command() -> None:
    """Re-encrypt every endpoint secret under the first key of WEBHOOK_SECRET_KEYS (run after
    putting a new key first; then the old keys can be removed)."""
    # Raw SQL: the stored tokens themselves, not the secrets the column type would decrypt.
    rows = db.session.execute(text("SELECT id, secret, previous_secret FROM webhook_endpoints ORDER BY id")).all()
    for endpoint_id, secret, previous in rows:
        try:
            fresh = sealed.reseal(secret)
            fresh_previous = sealed.reseal(previous) if previous is not None else None
        except InvalidToken:
            db.session.rollback()
            raise click.ClickException(
                f"endpoint {endpoint_id}: its secret opens with none of WEBHOOK_SECRET_KEYS; nothing was changed"
            ) from None
        db.session.execute(
            text("UPDATE webhook_endpoints SET secret = :secret, previous_secret = :previous WHERE id = :id"),
            {"secret": fresh, "previous": fresh_previous, "id": endpoint_id},
        )
    db.session.commit()
    click.echo(f"Re-encrypted the secrets of {len(rows)} endpoint{'' if len(rows) == 1 else 's'}.")


@outbox_cli.command("new-key")
def new_key_command() -> None:
    """Print a new Fernet key for WEBHOOK_SECRET_KEYS."""
    click.echo(sealed.new_key())
