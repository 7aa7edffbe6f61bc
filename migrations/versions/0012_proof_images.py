"""Payment-proof screenshots in the database, so every app host serves the same ones.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

import app.models

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'proof_images',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('mimetype', sa.String(length=20), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', app.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_proof_images')),
    )


def downgrade():
    op.drop_table('proof_images')
