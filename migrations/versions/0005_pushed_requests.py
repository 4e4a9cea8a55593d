"""pushed authorization requests (RFC 9126)

Revision ID: 0005_pushed_requests
Revises: 0004_factors
Create Date: 2026-12-07 09:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import idp.models.types


# revision identifiers, used by Alembic.
revision = '0005_pushed_requests'
down_revision = '0004_factors'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pushed_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_uri_digest', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('created_at', idp.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', idp.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', idp.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pushed_request')),
    sa.UniqueConstraint('request_uri_digest', name=op.f('uq_pushed_request_request_uri_digest'))
    )
    with op.batch_alter_table('pushed_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pushed_request_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pushed_request_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('pushed_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pushed_request_expires_at'))
        batch_op.drop_index(batch_op.f('ix_pushed_request_client_id'))

    op.drop_table('pushed_request')
