"""Command line (`flask --app wsgi ...`), per contract §3. Each feature adds its commands to
the groups in `app.cli.groups`; this module only wires them to the app."""

from flask import Flask

from app.cli.groups import players_cli, tournaments_cli, users_cli


def init_app(app: Flask) -> None:
    # Importing the modules attaches their commands to the shared groups.
    from app.cli import demo, file_commands, player_commands, standings_commands, user_commands  # noqa: F401

    app.cli.add_command(tournaments_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(players_cli)
    app.cli.add_command(demo.demo_command)
    from app.cli.outbox_commands import outbox_cli
    from app.cli.worker_commands import worker_command

    app.cli.add_command(worker_command)
    app.cli.add_command(outbox_cli)
    from app.cli.registration_commands import registrations_cli

    app.cli.add_command(registrations_cli)
