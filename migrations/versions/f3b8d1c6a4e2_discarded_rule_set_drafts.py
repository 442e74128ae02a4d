"""discarded rule-set drafts are kept for a while, to be restored

Revision ID: f3b8d1c6a4e2
Revises: e7a4c2f19b30
Create Date: 2026-12-02 14:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f3b8d1c6a4e2'
down_revision = 'e7a4c2f19b30'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rule_set_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discarded_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('discarded_by', sa.String(length=128), nullable=True))


def downgrade():
    with op.batch_alter_table('rule_set_version', schema=None) as batch_op:
        batch_op.drop_column('discarded_by')
        batch_op.drop_column('discarded_at')
