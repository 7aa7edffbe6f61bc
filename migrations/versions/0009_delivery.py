"""delivery at scale: endpoint health (circuit, auto-disable), secrets encrypted at rest,
an index for pruning by age (issue 13)

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
from flask import current_app


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def _rewrite_secrets(transform):
    # Raw rows: the model's column type would encrypt/decrypt on its own.
    connection = op.get_bind()
    rows = connection.execute(sa.text('SELECT id, secret, previous_secret FROM webhook_endpoints')).all()
    for endpoint_id, secret, previous in rows:
        connection.execute(
            sa.text('UPDATE webhook_endpoints SET secret = :s, previous_secret = :p WHERE id = :id'),
            {'s': transform(secret), 'p': transform(previous) if previous is not None else None, 'id': endpoint_id},
        )


def upgrade():
    from app.notifications import sealed

    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consecutive_failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('circuit_open_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('secret', existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=False)
        batch_op.alter_column('previous_secret', existing_type=sa.String(length=200), type_=sa.Text(),
                              existing_nullable=True)
    # Secrets stored in clear until now are encrypted under the first of WEBHOOK_SECRET_KEYS.
    _rewrite_secrets(lambda plain: sealed.seal(plain, current_app.config))
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_events_created', ['created_at'], unique=False)


def downgrade():
    from app.notifications import sealed

    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_events_created')
    _rewrite_secrets(lambda token: sealed.box(current_app.config).decrypt(token.encode('ascii')).decode('utf-8'))
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('previous_secret', existing_type=sa.Text(), type_=sa.String(length=200),
                              existing_nullable=True)
        batch_op.alter_column('secret', existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=False)
        batch_op.drop_column('circuit_open_until')
        batch_op.drop_column('failing_since')
        batch_op.drop_column('consecutive_failures')
