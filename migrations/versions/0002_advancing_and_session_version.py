"""tournament advancing line, user session version

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 06:55:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tournaments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('advancing', sa.Integer(), nullable=True))
        batch_op.create_check_constraint('advancing', 'advancing IS NULL OR advancing >= 1')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
    with op.batch_alter_table('tournaments', schema=None) as batch_op:
        batch_op.drop_constraint('advancing', type_='check')
        batch_op.drop_column('advancing')
