"""registration and entry fees: settings, entries (a team's registration) and payment proofs (issue 11)

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('registration_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tournament_id', sa.Integer(), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('roster_min', sa.Integer(), nullable=False),
    sa.Column('roster_max', sa.Integer(), nullable=False),
    sa.Column('fee_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('methods', sa.JSON(), nullable=False),
    sa.Column('payment_deadline_hours', sa.Integer(), nullable=False),
    sa.Column('auto_confirm_free', sa.Boolean(), nullable=False),
    sa.Column('check_in_minutes', sa.Integer(), nullable=True),
    sa.Column('lock_version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('capacity >= 1', name=op.f('ck_registration_settings_capacity')),
    sa.CheckConstraint('check_in_minutes IS NULL OR check_in_minutes >= 1', name=op.f('ck_registration_settings_check_in_minutes')),
    sa.CheckConstraint('fee_cents >= 0', name=op.f('ck_registration_settings_fee_cents')),
    sa.CheckConstraint('opens_at IS NULL OR closes_at IS NULL OR opens_at < closes_at', name=op.f('ck_registration_settings_window')),
    sa.CheckConstraint('payment_deadline_hours >= 1', name=op.f('ck_registration_settings_payment_deadline_hours')),
    sa.CheckConstraint('roster_min >= 1 AND roster_max >= roster_min', name=op.f('ck_registration_settings_roster')),
    sa.ForeignKeyConstraint(['tournament_id'], ['tournaments.id'], name=op.f('fk_registration_settings_tournament_id_tournaments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_settings')),
    sa.UniqueConstraint('tournament_id', name=op.f('uq_registration_settings_tournament_id'))
    )
    op.create_table('entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tournament_id', sa.Integer(), nullable=False),
    sa.Column('captain_id', sa.Integer(), nullable=False),
    sa.Column('team_name', sa.String(length=200), nullable=False),
    sa.Column('tag', sa.String(length=20), nullable=True),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('payment_status', sa.String(length=20), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('payment_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('waitlisted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("payment_status IN ('none', 'submitted', 'verified', 'rejected', 'waived', 'refunded')", name=op.f('ck_entries_payment_status')),
    sa.CheckConstraint("status IN ('pending_payment', 'awaiting_approval', 'confirmed', 'waitlisted', 'rejected', 'cancelled', 'withdrawn', 'no_show')", name=op.f('ck_entries_status')),
    sa.ForeignKeyConstraint(['captain_id'], ['users.id'], name=op.f('fk_entries_captain_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_entries_participant_id_participants'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_entries_payment_id_payments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tournament_id'], ['tournaments.id'], name=op.f('fk_entries_tournament_id_tournaments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entries')),
    sa.UniqueConstraint('code', name=op.f('uq_entries_code')),
    sa.UniqueConstraint('participant_id', name=op.f('uq_entries_participant_id'))
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entries_captain_id'), ['captain_id'], unique=False)
        batch_op.create_index('ix_entries_tournament_status', ['tournament_id', 'status'], unique=False)

    op.create_table('payment_proofs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=40), nullable=False),
    sa.Column('transaction_id', sa.String(length=80), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('sender_last_digits', sa.String(length=8), nullable=False),
    sa.Column('screenshot_key', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('submitted', 'verified', 'rejected', 'refunded')", name=op.f('ck_payment_proofs_status')),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_payment_proofs_amount_cents')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_payment_proofs_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_payment_proofs_entry_id_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_proofs'))
    )
    with op.batch_alter_table('payment_proofs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_proofs_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index('ix_payment_proofs_method_transaction', ['method', 'transaction_id'], unique=False)



def downgrade():
    with op.batch_alter_table('payment_proofs', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_proofs_method_transaction')
        batch_op.drop_index(batch_op.f('ix_payment_proofs_entry_id'))

    op.drop_table('payment_proofs')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index('ix_entries_tournament_status')
        batch_op.drop_index(batch_op.f('ix_entries_captain_id'))

    op.drop_table('entries')
    op.drop_table('registration_settings')
