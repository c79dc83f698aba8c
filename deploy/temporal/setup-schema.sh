#!/bin/sh
# One-shot job (the temporal-schema service of docker-compose.yml, temporalio/admin-tools image):
# creates Temporal's two PostgreSQL databases when they are missing and brings both schemas to the
# version this admin-tools image ships, before the temporal service may start. Every step is a
# no-op on a database that is already there and current, so the job runs on every `up`; upgrading
# Temporal (server and admin-tools together, one minor version at a time) migrates here first.
# The connection comes from the environment: SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER and
# SQL_PASSWORD, which temporal-sql-tool reads itself (the password never appears in argv).
set -eu

schemas=/etc/temporal/schema/postgresql/v12

migrate() {
  db=$1
  dir=$2
  echo "temporal-schema: database $db"
  temporal-sql-tool --db "$db" create-database
  # Version 0.0 only installs the schema_version bookkeeping on a new database; update-schema
  # then applies every versioned step the database does not have yet.
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$schemas/$dir/versioned"
}

migrate "${TEMPORAL_DB:-temporal}" temporal
migrate "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}" visibility
echo "temporal-schema: both schemas are current"
