#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hat_clinic.settings")
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
