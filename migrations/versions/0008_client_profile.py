"""security profile per client (FAPI 2.0)

Revision ID: 0008_client_profile
Revises: 0007_resources
Create Date: 2026-12-07 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_client_profile'
down_revision = '0007_resources'
branch_labels = None
depends_on = None


def upgrade():
    # NULL: existing clients follow the server's profile, as they did.
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('profile')
