"""site_versions: the tournament list's version, read by every app instance (issue 15)

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'site_versions',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_site_versions')),
    )
    op.bulk_insert(table, [{'name': 'tournament_list', 'version': 0}])


def downgrade():
    op.drop_table('site_versions')
