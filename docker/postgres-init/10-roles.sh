#!/bin/sh
# Run once by the postgres image when its data volume is first created (docker-entrypoint-initdb.d).
# Two roles (issue 11, hole 11): hat_owner owns the schema and runs migrations; hat_app serves
# (web, worker, beat) with the rights `manage.py grant_serving_role hat_app` gives it after each
# migrate: no UPDATE, DELETE or TRUNCATE on the append-only ledgers, no ownership (so no
# ALTER TABLE ... DISABLE TRIGGER), no superuser (so no SET session_replication_role).
# On a volume created before this script existed, run the same statements once by hand.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_password="$HAT_OWNER_PASSWORD" -v app_password="$HAT_APP_PASSWORD" <<'SQL'
CREATE ROLE hat_owner LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD :'owner_password';
CREATE ROLE hat_app LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS PASSWORD :'app_password';
ALTER DATABASE hat_clinic OWNER TO hat_owner;
ALTER SCHEMA public OWNER TO hat_owner;
REVOKE ALL ON DATABASE hat_clinic FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE hat_clinic TO hat_app;
GRANT USAGE ON SCHEMA public TO hat_app;
SQL
