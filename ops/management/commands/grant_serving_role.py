"""Give the serving database role exactly what the running app needs, after every `migrate`
(issue 11, hole 11: least privilege in the database).

Production runs two roles: the owner (runs `migrate`, owns every table) and the serving role
(gunicorn, the worker and beat). The serving role may read and write the ordinary tables, but on
the append-only ledgers (ops/ledgers.py: dose records, CD register entries, stock checks, ...)
only SELECT and INSERT. It owns nothing, so it cannot ALTER TABLE ... DISABLE TRIGGER, and it is
not a superuser, so it cannot SET session_replication_role = replica (which skips triggers) either;
no role gets TRUNCATE. This command refuses a role that is a superuser, owns tables here or is a
member of their owner, because then the grants would mean nothing.

Run it as the owner, after `migrate`: tables made by new migrations need their grants too.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

from ops.ledgers import APPEND_ONLY


class Command(BaseCommand):
    help = "Grant the serving role SELECT/INSERT/UPDATE/DELETE, and only SELECT/INSERT on the append-only tables."

    def add_arguments(self, parser):
        parser.add_argument("role", help="The serving role, e.g. hat_app (it must exist and be able to log in).")

    def handle(self, *args, role, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles need PostgreSQL.")
        with transaction.atomic(), connection.cursor() as cursor:
            self._refuse_a_powerful_role(cursor, role)
            existing = self._tables(cursor)
            ident = sql.Identifier(role)
            statements = [
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(connection.settings_dict["NAME"]), ident
                ),
                sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident),
                sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(ident),
                sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(ident),
                sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(ident),
            ]
            missing = [table for table in APPEND_ONLY if table not in existing]
            if missing:
                raise CommandError(f"Run migrate first: these tables do not exist yet: {', '.join(missing)}.")
            statements += [
                sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON {} FROM {}").format(
                    sql.Identifier(table), ident
                )
                for table in APPEND_ONLY
            ]
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(
            f"{role}: read and write on {len(existing)} tables; only SELECT and INSERT on {len(APPEND_ONLY)} "
            f"append-only tables ({', '.join(APPEND_ONLY)})."
        )

    @staticmethod
    def _tables(cursor) -> set[str]:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {name for (name,) in cursor.fetchall()}

    @staticmethod
    def _refuse_a_powerful_role(cursor, role: str) -> None:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
        row = cursor.fetchone()
        if row is None:
            raise CommandError(f"There is no database role {role!r}: create it first (see docker/postgres-init).")
        if row[0] or row[1]:
            raise CommandError(f"{role} is a superuser or bypasses row security: the serving role must be neither.")
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND pg_has_role(%s, tableowner, 'MEMBER')",
            [role],
        )
        if cursor.fetchone()[0]:
            raise CommandError(f"{role} owns the tables (or is a member of their owner): use a separate role.")
