"""What players are told but webhook receivers never get: `outbox_events.notice` (reasons, notes,
before -> after), and `entries.end_note` (staff's reason for ending an entry, shown to its captain).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_events') as batch_op:
        batch_op.add_column(sa.Column('notice', sa.JSON(), nullable=True))
    with op.batch_alter_table('entries') as batch_op:
        batch_op.add_column(sa.Column('end_note', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('entries') as batch_op:
        batch_op.drop_column('end_note')
    with op.batch_alter_table('outbox_events') as batch_op:
        batch_op.drop_column('notice')
