FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# postgresql-client: pg_dump and pg_restore for `manage.py backup` and `restore_drill` (15, as the server).
RUN apt-get update && apt-get install -y --no-install-recommends curl postgresql-client-15 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings that load; these values exist only for this build step.
RUN SECRET_KEY=build-only ALLOWED_HOSTS=build python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 --home /app hat && mkdir -p /app/media && chown hat /app/media
USER hat
EXPOSE 8000
CMD ["gunicorn", "hat_clinic.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
