"""staff auth and audit (issue 7, auth part)

Placeholder in the fixed migration chain; the work for this part fills it in (and may rename
the file, keeping revision '0003').

Revision ID: 0003
Revises: 0002
"""


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
