"""Write a backup of the database: `pg_dump --format=custom`, written to a temporary name and renamed
when complete, so a file with the final name is always a whole dump."""

import os
from pathlib import Path

from django.core.management.base import BaseCommand
from django.utils import timezone

from ops.postgres import libpq_environment, run_tool


class Command(BaseCommand):
    help = "Write a pg_dump (custom format) of the database; prints the file's path."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            help="File to write (default: $BACKUP_DIR or ./backups, named hat_clinic-<UTC time>.dump).",
        )

    def handle(self, *args, output=None, **options):
        if output:
            path = Path(output)
        else:
            folder = Path(os.environ.get("BACKUP_DIR") or "backups")
            path = folder / f"hat_clinic-{timezone.now():%Y%m%dT%H%M%SZ}.dump"
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        run_tool("pg_dump", ["--format=custom", "--file", str(partial)], env=libpq_environment())
        partial.replace(path)
        self.stdout.write(f"{path} ({path.stat().st_size} bytes)")
