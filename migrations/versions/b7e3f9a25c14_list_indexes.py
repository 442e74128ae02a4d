"""indexes for the lists: appraisals by total, by cycle and station, the keys alone; work orders by
technician number, the keys alone

Revision ID: b7e3f9a25c14
Revises: 8d2f6b1e4c70
Create Date: 2026-12-02 22:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7e3f9a25c14'
down_revision = '8d2f6b1e4c70'
branch_labels = None
depends_on = None

INDEXES = [
    ('ix_appraisal_id', 'appraisal', ['id']),
    ('ix_appraisal_total', 'appraisal', ['total']),
    ('ix_appraisal_cycle_total', 'appraisal', ['cycle_id', 'total']),
    ('ix_appraisal_cycle_station', 'appraisal', ['cycle_id', 'station_id']),
    ('ix_work_order_technician_no', 'work_order', ['technician_no']),
    ('ix_work_order_id', 'work_order', ['id']),
]


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
