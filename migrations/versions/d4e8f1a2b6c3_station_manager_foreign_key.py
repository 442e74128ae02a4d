"""the station manager's foreign key where the first migration left it out

The organisation's migration declared ``station.manager_id → employee.id`` with ``use_alter``
inside ``create_table``, which creates it inline on SQLite but emits nothing on PostgreSQL. This
adds it where it is missing.

Revision ID: d4e8f1a2b6c3
Revises: c0193b822bbe
Create Date: 2026-12-02 08:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4e8f1a2b6c3'
down_revision = 'c0193b822bbe'
branch_labels = None
depends_on = None


def _has_manager_key() -> bool:
    keys = sa.inspect(op.get_bind()).get_foreign_keys('station')
    return any(key['constrained_columns'] == ['manager_id'] for key in keys)


def upgrade():
    if op.get_bind().dialect.name == 'sqlite' or _has_manager_key():
        return
    op.create_foreign_key('fk_station_manager', 'station', 'employee', ['manager_id'], ['id'])


def downgrade():
    # Leaves the key in place: the organisation's migration means it to be there.
    pass
