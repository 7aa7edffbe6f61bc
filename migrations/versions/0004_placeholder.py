"""staff tournament operations (issue 7, running a tournament)

Placeholder in the fixed migration chain; the work for this part fills it in (and may rename
the file, keeping revision '0004').

Revision ID: 0004
Revises: 0003
"""


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
