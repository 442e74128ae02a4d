"""a partial index on the work orders that carry a tag: the metrics' tag pass reads four columns of those
orders alone instead of the wide covering index of every order

Revision ID: d8a3f6b1c2e9
Revises: c4f7a9e2b1d8
Create Date: 2026-12-04 16:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd8a3f6b1c2e9'
down_revision = 'c4f7a9e2b1d8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_work_order_tagged', 'work_order',
                    ['technician_id', 'station_id', 'completed_at', 'tags'], unique=False,
                    sqlite_where=sa.text("tags != ''"), postgresql_where=sa.text("tags <> ''"))


def downgrade():
    op.drop_index('ix_work_order_tagged', table_name='work_order')
