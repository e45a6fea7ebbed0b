"""Restore a backup into a fresh database and check that it is whole (issue 13.4).

A backup is only as good as a restore that has been tried: this restores the dump into a new
database beside the live one (`hat_drill_<time>`), checks that every register's running balance
adds up, that every dose in force is what its register lines drew, and that the append-only
triggers came back, then drops the drill database (unless --keep). Exit status 0 only when all
checks pass. The connection needs the right to create databases (CREATEDB).
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils import timezone
from psycopg import sql

from ops.ledgers import check_all
from ops.postgres import libpq_environment, run_tool

ALIAS = "restore_drill"


class Command(BaseCommand):
    help = "Restore a pg_dump into a fresh database and check balances, dose lines and append-only triggers."

    def add_arguments(self, parser):
        parser.add_argument("dump", help="A file written by `manage.py backup` (pg_dump --format=custom).")
        parser.add_argument("--keep", action="store_true", help="Keep the drill database afterwards.")

    def handle(self, *args, dump, keep=False, **options):
        name = f"hat_drill_{timezone.now():%Y%m%d%H%M%S%f}"
        admin = connections["default"]
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.stdout.write(f"Restoring {dump} into {name} ...")
        try:
            run_tool(
                "pg_restore",
                ["--exit-on-error", "--no-owner", "--no-privileges", "--dbname", name, dump],
                env=libpq_environment(),
            )
            connections.settings[ALIAS] = {**admin.settings_dict, "NAME": name}
            try:
                results = check_all(using=ALIAS)
            finally:
                connections[ALIAS].close()
                del connections[ALIAS]
                del connections.settings[ALIAS]
        finally:
            if not keep:
                with admin.cursor() as cursor:
                    cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        failed = 0
        for check, problems in results.items():
            if problems:
                failed += 1
                self.stdout.write(f"FAIL {check}: {len(problems)} problem(s)")
                for problem in problems[:50]:
                    self.stdout.write(f"  - {problem}")
            else:
                self.stdout.write(f"ok   {check}")
        if failed:
            raise CommandError(f"The restored copy is not whole: {failed} check(s) failed.")
        self.stdout.write(f"The restored copy is whole{' (kept as ' + name + ')' if keep else ''}.")
