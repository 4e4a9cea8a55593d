"""resource indicators (RFC 8707): per client, per code, per grant

Revision ID: 0007_resources
Revises: 0006_dpop
Create Date: 2026-12-07 10:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_resources'
down_revision = '0006_dpop'
branch_labels = None
depends_on = None


def upgrade():
    # Existing clients may reach no other API than before: an empty list, filled in place.
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resources', sa.JSON(), server_default='[]', nullable=False))
    with op.batch_alter_table('authorization_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resources', sa.JSON(), nullable=True))
    with op.batch_alter_table('token_family', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resources', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('token_family', schema=None) as batch_op:
        batch_op.drop_column('resources')
    with op.batch_alter_table('authorization_code', schema=None) as batch_op:
        batch_op.drop_column('resources')
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('resources')
