import sys

from app import create_app
from app.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # One line naming the setting (flask, gunicorn and `make run` would print a traceback).
    print(f"Configuration error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None
