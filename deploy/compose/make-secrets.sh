#!/bin/sh
# Writes the secret files the compose files mount, from .env and fresh random values.
# Existing files are kept, so running it again never rotates a secret by accident.
set -eu
cd "$(dirname "$0")"
[ -f .env ] && . ./.env
umask 077
mkdir -p secrets
random() { python3 -c 'import secrets; print(secrets.token_urlsafe(48))'; }
keep() { [ -s "secrets/$1" ] || printf '%s\n' "$2" > "secrets/$1"; }
keep secret_key "$(random)"
keep metrics_token "$(random)"
keep grafana_admin_password "$(random)"
if [ -n "${POSTGRES_PASSWORD:-}" ]; then
  keep postgres_password "$POSTGRES_PASSWORD"
  keep database_url "postgresql+psycopg://footfall:${POSTGRES_PASSWORD}@postgres:5432/footfall"
fi
if [ -n "${CLICKHOUSE_PASSWORD:-}" ]; then
  keep events_url "clickhouse://footfall:${CLICKHOUSE_PASSWORD}@clickhouse:8123/footfall"
fi
ls -l secrets
