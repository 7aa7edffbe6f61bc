"""Health (circuit) of the receiver configured in WEBHOOK_DELIVERY_URL.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

import app.models

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'receiver_health',
        sa.Column('url_hash', sa.String(length=64), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('consecutive_failures', sa.Integer(), server_default='0', nullable=False),
        sa.Column('failing_since', app.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('circuit_open_until', app.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('alerted_at', app.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('url_hash', name=op.f('pk_receiver_health')),
    )


def downgrade():
    op.drop_table('receiver_health')
