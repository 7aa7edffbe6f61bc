"""staff tournament operations: declared stages, lobby version

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 07:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tournaments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stages', sa.JSON(), nullable=True))
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('tournaments', schema=None) as batch_op:
        batch_op.drop_column('stages')
