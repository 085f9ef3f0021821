#!/bin/bash
# Runs once, on the first start of an empty data volume (/docker-entrypoint-initdb.d): one database and
# one owner role per tool, each with its own password from .env.
set -euo pipefail
: "${DAGSTER_DB_PASSWORD:?}" "${OPTUNA_DB_PASSWORD:?}" "${LABEL_STUDIO_DB_PASSWORD:?}"

create() {  # role/database name, password
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
       -v name="$1" -v password="$2" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'name', :'password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \gexec
SQL
}

create dagster "$DAGSTER_DB_PASSWORD"
create optuna "$OPTUNA_DB_PASSWORD"
create labelstudio "$LABEL_STUDIO_DB_PASSWORD"
echo "databases ready: dagster, optuna, labelstudio"
