"""change counts kept by the database for the tables behind the big lists (app.models.changes): a table and
the triggers that add to it on every write, by any writer

Revision ID: c4f7a9e2b1d8
Revises: b2d9c4e7a1f3
Create Date: 2026-12-03 12:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4f7a9e2b1d8'
down_revision = 'b2d9c4e7a1f3'
branch_labels = None
depends_on = None

# As app.models.changes.COUNTED_TABLES when written; a later change of that list needs a migration.
TABLES = ('appraisal', 'cycle', 'employee', 'labor_cost', 'station', 'survey', 'work_order')

# PostgreSQL: once per transaction and table (the trigger's WHEN reads the transaction-local setting this
# sets); a row of its own, holding the committed rows no other writer holds, so that no writer waits.
FUNCTION = """
CREATE FUNCTION table_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('jixiao.changed_' || TG_TABLE_NAME, 'y', true);
    WITH folded AS (
        DELETE FROM table_change WHERE id IN (
            SELECT id FROM table_change WHERE table_name = TG_TABLE_NAME FOR UPDATE SKIP LOCKED)
        RETURNING changes)
    INSERT INTO table_change (table_name, changes)
        SELECT TG_TABLE_NAME, 1 + coalesce(sum(changes), 0) FROM folded;
    RETURN NULL;
END
$$
"""

POSTGRESQL_TRIGGER = """
CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
FOR EACH STATEMENT WHEN (current_setting('jixiao.changed_{table}', true) IS DISTINCT FROM 'y')
EXECUTE FUNCTION table_changed()
"""

SQLITE_TRIGGER = """
CREATE TRIGGER {table}_{done} AFTER {event} ON {table} FOR EACH ROW BEGIN
    UPDATE table_change SET changes = changes + 1 WHERE table_name = '{table}';
END
"""
SQLITE_EVENTS = (('inserted', 'INSERT'), ('updated', 'UPDATE'), ('deleted', 'DELETE'))


def upgrade():
    table_change = op.create_table(
        'table_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('table_name', sa.String(length=64), nullable=False),
        sa.Column('changes', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_table_change_table_name', 'table_change', ['table_name'], unique=False)
    op.bulk_insert(table_change, [{'table_name': table, 'changes': 0} for table in TABLES])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(FUNCTION)
        for table in TABLES:
            op.execute(POSTGRESQL_TRIGGER.format(table=table))
    else:
        for table in TABLES:
            for done, event in SQLITE_EVENTS:
                op.execute(SQLITE_TRIGGER.format(table=table, done=done, event=event))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f'DROP TRIGGER {table}_changed ON {table}')
        op.execute('DROP FUNCTION table_changed()')
    else:
        for table in TABLES:
            for done, _event in SQLITE_EVENTS:
                op.execute(f'DROP TRIGGER {table}_{done}')
    op.drop_index('ix_table_change_table_name', table_name='table_change')
    op.drop_table('table_change')
