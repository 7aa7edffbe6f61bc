"""player notifications: email opt-outs per category and team join codes (issue 8B)

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'email_opt_outs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("category IN ('payments', 'matches', 'tournaments')",
                           name=op.f('ck_email_opt_outs_category')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_email_opt_outs_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_email_opt_outs')),
        sa.UniqueConstraint('user_id', 'category', name=op.f('uq_email_opt_outs_user_id_category')),
    )
    with op.batch_alter_table('email_opt_outs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_opt_outs_user_id'), ['user_id'], unique=False)

    op.create_table(
        'team_join_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['participant_id'], ['participants.id'],
                                name=op.f('fk_team_join_codes_participant_id_participants'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_team_join_codes_created_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_team_join_codes')),
        sa.UniqueConstraint('participant_id', name=op.f('uq_team_join_codes_participant_id')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_team_join_codes_code_hash')),
    )


def downgrade():
    op.drop_table('team_join_codes')
    with op.batch_alter_table('email_opt_outs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_opt_outs_user_id'))
    op.drop_table('email_opt_outs')
