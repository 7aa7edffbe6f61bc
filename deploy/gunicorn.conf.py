"""gunicorn's settings for every app instance: the one source for the systemd unit
(deploy/systemd/deltacrown-web@.service: `gunicorn -c deploy/gunicorn.conf.py --bind 127.0.0.1:%i`),
`make cluster` (deploy/cluster.py) and `make serve`.

Each of those adds only what differs per instance on the command line, which gunicorn applies
after this file: `--bind` (the instance's port) and, in deploy/cluster.py, `--workers` (several
instances share this machine's cores). tests/deploy/test_deploy_config.py checks that the unit and
cluster.py end up with the same settings otherwise.
"""

# The WSGI app (wsgi.py), so no command line needs to name it.
wsgi_app = "wsgi:app"

# A default for one instance on its own; the unit and the cluster pass --bind.
bind = "127.0.0.1:8000"
# Sync workers: each holds one request at a time, and the app's waits are bounded (database and
# Redis timeouts, README "Production"), so a few per core keep a host busy.
workers = 4

# A request still running after 30 s is killed (the bounded waits answer long before).
timeout = 30
# SIGTERM (systemd stop, a rolling restart): stop accepting and let requests in flight finish for
# up to 20 s. The unit's TimeoutStopSec (25 s) must stay above this, or systemd kills mid-drain.
graceful_timeout = 20
# nginx keeps connections to the instances open (`keepalive` in the upstream block).
keepalive = 5
# gunicorn's control socket is one path per user by default: two instances on one host would
# fight over it, and nothing here uses it.
control_socket_disable = True
# The app is loaded before the port is bound: a restarting instance refuses connections (nginx
# retries the GET on another instance) instead of queueing them while it boots.
preload_app = True
