"""publication of cycles, shared or internal comments, employees' bonus base

Revision ID: b15e0a7c3d21
Revises: 7c3e5a9d1f20
Create Date: 2026-12-02 07:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b15e0a7c3d21'
down_revision = '7c3e5a9d1f20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('published_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('publish_override_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('publication', sa.JSON(), nullable=True))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visibility', sa.String(length=16), nullable=False,
                                      server_default='shared'))
    with op.batch_alter_table('employee', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bonus_base', sa.Numeric(precision=12, scale=2), nullable=True))


def downgrade():
    with op.batch_alter_table('employee', schema=None) as batch_op:
        batch_op.drop_column('bonus_base')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('visibility')
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.drop_column('publication')
        batch_op.drop_column('publish_override_reason')
        batch_op.drop_column('published_by')
        batch_op.drop_column('published_at')
