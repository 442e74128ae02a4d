"""accounts: user names unique whatever their case, failures per account, sign-in stamps

Refuses to run while two accounts' names differ only in case: those must be renamed first.

Revision ID: 7c3e5a9d1f20
Revises: 2990ce7fbbf6
Create Date: 2026-12-02 04:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c3e5a9d1f20'
down_revision = '2990ce7fbbf6'
branch_labels = None
depends_on = None


def upgrade():
    clashes = op.get_bind().execute(sa.text(
        "SELECT lower(username), count(*) FROM ab_user GROUP BY lower(username) HAVING count(*) > 1 ORDER BY 1"
    )).all()
    if clashes:
        names = ", ".join(f"{name} ({n} accounts)" for name, n in clashes)
        raise RuntimeError(
            "Some user names differ only in upper and lower case: " + names + ". Rename or remove all "
            "but one account of each on the user list, then run the upgrade again."
        )
    op.create_index('ux_ab_user_username_lower', 'ab_user', [sa.text('lower(username)')], unique=True)

    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_login_failure_user_id'), ['user_id'], unique=False)

    op.create_table('account_stamp',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id')
    )


def downgrade():
    op.drop_table('account_stamp')
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failure_user_id'))
        batch_op.drop_column('user_id')
    op.drop_index('ux_ab_user_username_lower', table_name='ab_user')
