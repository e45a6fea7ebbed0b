#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hat_clinic.settings")
    if sys.argv[1:2] == ["makemigrations"]:
        # Writes migration files on a developer's machine and never serves a request: it needs no
        # production secret, so a bare `manage.py makemigrations --check` works. DEBUG=0 still wins.
        os.environ.setdefault("DEBUG", "1")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 (load the settings now, so a bad variable is named, not hidden)
    except ImproperlyConfigured as error:
        sys.exit(f"Configuration error: {error} (see the configuration table in README.md)")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
