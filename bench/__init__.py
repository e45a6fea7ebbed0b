"""The project's own benchmark: real PostgreSQL, a real gunicorn, real HTTP (`make bench`).

Not a Django app and never imported by one. Layout, so later measurements slot in:

- `database.py`: create and migrate the separate benchmark database;
- `data.py`: bulk-load the data a measurement needs (one function per data set);
- `server.py`: run gunicorn against that database, DEBUG off;
- `client.py`: a signed-in `requests` session and the timing loop;
- `dosing.py`: one function per dosing measurement (board page, board poll, record a dose);
- `report.py`: percentiles, the printed table and the JSON file in bench-results/;
- `__main__.py`: `python -m bench` runs every registered measurement.
"""
