"""notifications for players: preferences and email (issue 8)

Placeholder in the fixed migration chain; the work for this part fills it in (and may rename
the file, keeping revision '0006').

Revision ID: 0006
Revises: 0005
"""


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
