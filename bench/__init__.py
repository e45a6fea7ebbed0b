"""The project's own benchmark: real PostgreSQL, a real gunicorn, real HTTP (`make bench`).

Not a Django app and never imported by one. Layout, so later measurements slot in:

- `database.py`: the benchmark's own database (created when missing), the check that a scale database is
  seed_scale's, migrations, row counts;
- `data.py`: bulk-load the data a measurement needs (one function per data set), new each run;
- `server.py`: run gunicorn against that database, DEBUG off;
- `client.py`: a signed-in member of staff, a partner's OAuth2 client, and the timing loop;
- `dosing.py`: one function per dosing measurement (board page, board poll, record a dose);
- `partners.py`: the partner referral list (whole, and `updated_since`);
- `stats.py`: the commissioner dashboard against the naive SQL aggregate (scale database only);
- `report.py`: percentiles, the printed table and the JSON file in bench-results/;
- `__main__.py`: `python -m bench` runs every registered measurement.
"""
