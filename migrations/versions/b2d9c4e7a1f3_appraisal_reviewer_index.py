"""an index on the appraisals' reviewer: the appraisals HR handed to a reviewer, found without a scan

Revision ID: b2d9c4e7a1f3
Revises: a5c8e2d47f16
Create Date: 2026-12-03 12:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b2d9c4e7a1f3'
down_revision = 'a5c8e2d47f16'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_appraisal_reviewer_id', 'appraisal', ['reviewer_id'], unique=False)


def downgrade():
    op.drop_index('ix_appraisal_reviewer_id', table_name='appraisal')
