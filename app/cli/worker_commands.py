"""`flask worker [--until-idle]` (contract §3): the delivery worker for email and webhooks."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from app.notifications.worker import Worker, install_signal_handlers
from app.services.registration import timed_steps


@click.command("worker")
@click.option(
    "--until-idle",
    is_flag=True,
    help="Exit once nothing is pending or waiting for a retry (deliveries behind an open circuit are left for later).",
)
@click.option("--name", default=None, help="Name recorded on each attempt (default: host:pid:random).")
@with_appcontext
def worker_command(until_idle: bool, name: str | None) -> None:
    """Send pending notification deliveries (webhooks and email), retrying on the configured
    schedule. Several workers may run at once; stop one with Ctrl-C or SIGTERM (the delivery in
    hand is finished first)."""
    # Registration's timed steps (payment deadlines, the waiting list, no-shows) run in the
    # worker, the one process that always runs; handed in here, as the worker imports no service.
    worker = Worker(current_app._get_current_object(), name=name, timed_steps=[timed_steps.run_timed_steps])
    install_signal_handlers(worker)
    click.echo(f"Worker {worker.name} started{' (until idle)' if until_idle else ''}.", err=True)
    stats = worker.run(until_idle=until_idle)
    click.echo(
        f"Worker {worker.name} stopped: {stats.delivered} delivered, {stats.retried} to retry, "
        f"{stats.failed} failed, {stats.cancelled} cancelled.",
        err=True,
    )
    if parked := worker.parked.deliveries:
        click.echo(
            f"{parked} deliveries wait behind an open circuit (a receiver that keeps failing); "
            f"the first is tried again after {worker.parked.until:%Y-%m-%d %H:%M:%S} UTC by a running worker.",
            err=True,
        )
