"""Event extras (issue 26): the tournament's description, rules and organiser contact; the
captain's phone on an entry and the setting that requires it; staff announcements.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

import app.models

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tournaments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('rules', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('contact_whatsapp', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('contact_discord', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('contact_facebook', sa.String(length=300), nullable=True))
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('captain_phone', sa.String(length=20), nullable=True))
    with op.batch_alter_table('registration_settings', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('captain_phone_required', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        'announcements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tournament_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('subject', sa.String(length=150), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('created_at', app.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['author_id'], ['users.id'], name=op.f('fk_announcements_author_id_users'), ondelete='SET NULL'
        ),
        sa.ForeignKeyConstraint(
            ['tournament_id'],
            ['tournaments.id'],
            name=op.f('fk_announcements_tournament_id_tournaments'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements')),
        sa.UniqueConstraint('token', name=op.f('uq_announcements_token')),
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcements_tournament_id'), ['tournament_id'], unique=False)


def downgrade():
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcements_tournament_id'))
    op.drop_table('announcements')
    with op.batch_alter_table('registration_settings', schema=None) as batch_op:
        batch_op.drop_column('captain_phone_required')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_column('captain_phone')
    with op.batch_alter_table('tournaments', schema=None) as batch_op:
        batch_op.drop_column('contact_facebook')
        batch_op.drop_column('contact_discord')
        batch_op.drop_column('contact_whatsapp')
        batch_op.drop_column('rules')
        batch_op.drop_column('description')
