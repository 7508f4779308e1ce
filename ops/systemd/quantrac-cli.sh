#!/bin/sh
# /usr/local/bin/quantrac: the tools of an installed quantrac (ops/*.ts), run as the service user
# with the service's settings (/etc/quantrac/quantrac.env), e.g.
#   quantrac gateways add gw-air-01      quantrac users add lan officer
#   quantrac backup --out /var/backups/quantrac/2026-12-01
set -eu
PREFIX=/opt/quantrac
ENV_FILE=/etc/quantrac/quantrac.env
tool=${1:-}
case "$tool" in
  gateways|users|backtest|rollups|backup|restore) shift ;;
  *) echo "usage: quantrac gateways|users|backtest|rollups|backup|restore [args]" >&2; exit 2 ;;
esac
set -a
. "$ENV_FILE"
set +a
# `quantrac backup` carries the settings file too (ops/backup-config.ts).
export QUANTRAC_ENV_FILE="$ENV_FILE"
cd "$PREFIX"
if [ "$(id -un)" = quantrac ]; then
  exec "$PREFIX/node_modules/.bin/node" "$PREFIX/ops/$tool.ts" "$@"
fi
exec runuser -u quantrac -- "$PREFIX/node_modules/.bin/node" "$PREFIX/ops/$tool.ts" "$@"
