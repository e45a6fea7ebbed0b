"""How pages show dates and times (settings.FORMAT_MODULE_PATH): dd/mm/yyyy and the 24-hour clock (issue 14.9).

Django's own en_GB formats write a bare `{{ time }}` as "2:05 p.m." and a date as "3 Dec 2026";
a clinic reads 14:05 and 03/12/2026 everywhere. Templates that spell out a month ("3 Dec")
pass their own format. Typed dates and times are read by the fields in `clinics/widgets.py`.
"""

DATE_FORMAT = "d/m/Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "d/m/Y H:i"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
FIRST_DAY_OF_WEEK = 1  # Monday
