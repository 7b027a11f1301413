#!/usr/bin/env bash
# Runs once, when the postgres container initialises an empty data volume: the application's
# owner role and database, the dashboard's read-only role, and MLflow's own database.
# The tables themselves come from `fraudstream db migrate` (the `migrate` service).
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$DB_PASSWORD" -v reader_password="$DB_READER_PASSWORD" <<'SQL'
CREATE ROLE fraudstream LOGIN PASSWORD :'owner_password';
CREATE ROLE fraudstream_reader LOGIN PASSWORD :'reader_password';
ALTER ROLE fraudstream_reader SET default_transaction_read_only = on;
CREATE DATABASE fraudstream OWNER fraudstream;
CREATE DATABASE mlflow OWNER fraudstream;
SQL

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname fraudstream <<'SQL'
GRANT CONNECT ON DATABASE fraudstream TO fraudstream_reader;
GRANT USAGE ON SCHEMA public TO fraudstream_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE fraudstream IN SCHEMA public
    GRANT SELECT ON TABLES TO fraudstream_reader;
SQL
