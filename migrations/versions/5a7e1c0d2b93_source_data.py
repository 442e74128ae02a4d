"""source data: final shape of work orders and surveys

Revision ID: 5a7e1c0d2b93
Revises: 55df6a9c516b
Create Date: 2026-11-29 05:30:00

The cycles migration (55df6a9c516b) was generated while the source-data models were already
registered, so it creates ``work_order``, ``survey`` and ``labor_cost`` in a first draft. This
revision brings them to their final shape: the survey keeps a copy of its order's completion time,
and the draft indexes give way to the covering indexes the metric queries read (app.metrics).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a7e1c0d2b93'
down_revision = '55df6a9c516b'
branch_labels = None
depends_on = None

METRICS_COLUMNS = ['technician_id', 'station_id', 'completed_at', 'first_time_fixed', 'customer_type',
                   'response_hours', 'sla_response_hours', 'repair_hours', 'parts_cost', 'service_fee',
                   'parts_delay', 'tags']
SURVEY_COLUMNS = ['technician_id', 'station_id', 'order_completed_at', 'attitude', 'quality', 'speed']


def upgrade():
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_completed_at', sa.DateTime(), nullable=True))
        batch_op.drop_index('ix_survey_technician_id')
        batch_op.create_index('ix_survey_metrics', SURVEY_COLUMNS, unique=False)
    op.execute("UPDATE survey SET order_completed_at = "
               "(SELECT completed_at FROM work_order WHERE work_order.id = survey.order_id)")
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.drop_index('ix_work_order_period')
        batch_op.drop_index('ix_work_order_technician_completed')
        batch_op.create_index('ix_work_order_metrics', METRICS_COLUMNS, unique=False)


def downgrade():
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.drop_index('ix_work_order_metrics')
        batch_op.create_index('ix_work_order_technician_completed', ['technician_id', 'completed_at'], unique=False)
        batch_op.create_index('ix_work_order_period', ['completed_at', 'technician_id', 'station_id'], unique=False)
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_metrics')
        batch_op.create_index('ix_survey_technician_id', ['technician_id'], unique=False)
        batch_op.drop_column('order_completed_at')
