"""notifications outbox, webhooks and worker (issue 8)

Placeholder in the fixed migration chain; the work for this part fills it in (and may rename
the file, keeping revision '0005').

Revision ID: 0005
Revises: 0004
"""


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
