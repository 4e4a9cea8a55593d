"""DPoP key bindings on codes and token families (RFC 9449)

Revision ID: 0006_dpop
Revises: 0005_pushed_requests
Create Date: 2026-12-07 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_dpop'
down_revision = '0005_pushed_requests'
branch_labels = None
depends_on = None


def upgrade():
    # Existing codes and grants were never bound to a key: NULL keeps them as they were.
    with op.batch_alter_table('authorization_code', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=43), nullable=True))
    with op.batch_alter_table('token_family', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=43), nullable=True))


def downgrade():
    with op.batch_alter_table('token_family', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
    with op.batch_alter_table('authorization_code', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
