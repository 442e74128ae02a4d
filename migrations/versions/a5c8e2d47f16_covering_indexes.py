"""covering indexes: the current appraisals by state for the home cards and the inbox, a cycle's current
appraisals by station, grade and total for the cycle and calibration pages

Revision ID: a5c8e2d47f16
Revises: b7e3f9a25c14
Create Date: 2026-12-03 06:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a5c8e2d47f16'
down_revision = 'b7e3f9a25c14'
branch_labels = None
depends_on = None

# The first ends with the id, so that PostgreSQL answers the cards' counts and first rows from the index
# alone (SQLite's indexes carry the row id anyway).
INDEXES = [
    ('ix_appraisal_current_state', 'appraisal',
     ['is_current', 'state', 'cycle_id', 'rule_set_version_id', 'employee_id', 'station_id', 'reviewer_id',
      'id']),
    ('ix_appraisal_cycle_grades', 'appraisal',
     ['cycle_id', 'is_current', 'station_id', 'grade', 'total', 'state', 'rule_set_version_id']),
]


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
