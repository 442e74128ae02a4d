"""dashboard figures stored per cycle and station; an index for a cycle's fingerprint

Revision ID: 8d2f6b1e4c70
Revises: f3b8d1c6a4e2
Create Date: 2026-12-02 22:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '8d2f6b1e4c70'
down_revision = 'f3b8d1c6a4e2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dashboard_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('fingerprint', sa.String(length=120), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('total_sum', sa.Float(), nullable=False),
    sa.Column('total_n', sa.Integer(), nullable=False),
    sa.Column('grades', sa.JSON(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('versions', sa.JSON(), nullable=False),
    sa.Column('indicators', sa.JSON(), nullable=False),
    sa.Column('top', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycle.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dashboard_figures', schema=None) as batch_op:
        batch_op.create_index('ix_dashboard_figures_cycle_station', ['cycle_id', 'station_id'], unique=False)
    with op.batch_alter_table('appraisal', schema=None) as batch_op:
        batch_op.create_index('ix_appraisal_cycle_updated', ['cycle_id', 'updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('appraisal', schema=None) as batch_op:
        batch_op.drop_index('ix_appraisal_cycle_updated')
    with op.batch_alter_table('dashboard_figures', schema=None) as batch_op:
        batch_op.drop_index('ix_dashboard_figures_cycle_station')
    op.drop_table('dashboard_figures')
