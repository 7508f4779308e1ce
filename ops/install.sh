#!/bin/sh
# Installs (or upgrades) quantrac as a systemd service on Debian 12. Run as root from a checkout:
#   sudo sh ops/install.sh [--no-start]
# Idempotent: a second run upgrades the code in /opt/quantrac and keeps /etc/quantrac/quantrac.env
# and everything in /var/lib/quantrac. What it does, step by step: README.md › Production install.
set -eu

PREFIX=/opt/quantrac
ETC=/etc/quantrac
STATE=/var/lib/quantrac
SRC=$(cd "$(dirname "$0")/.." && pwd)
START=yes
[ "${1:-}" = "--no-start" ] && START=no

say() { printf 'quantrac install: %s\n' "$*"; }
die() { printf 'quantrac install: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: sudo sh $0"
[ -f "$SRC/server/main.ts" ] || die "run from a quantrac checkout ($SRC has no server/main.ts)"
if [ -r /etc/os-release ]; then
  . /etc/os-release
  [ "${ID:-}" = debian ] && [ "${VERSION_ID:-}" = 12 ] || say "warning: made for Debian 12, this is ${PRETTY_NAME:-unknown}"
fi

say "Debian packages: nodejs + npm (bootstrap only; quantrac runs on Node 24 from npm), influxdb"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends ca-certificates nodejs npm influxdb systemd >/dev/null

say "system user quantrac (sysusers.d)"
install -D -m 0644 "$SRC/ops/systemd/quantrac.sysusers" /usr/lib/sysusers.d/quantrac.conf
if command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers /usr/lib/sysusers.d/quantrac.conf
elif ! id quantrac >/dev/null 2>&1; then
  useradd --system --user-group --home-dir "$STATE" --shell /usr/sbin/nologin quantrac
fi
install -d -m 0750 -o quantrac -g quantrac "$STATE"

say "code in $PREFIX (npm ci installs Node 24 into node_modules/.bin; the portal is built once)"
rm -rf "$PREFIX.new"
mkdir -p "$PREFIX.new"
(cd "$SRC" && tar --exclude=./node_modules --exclude=./.data --exclude=./.git --exclude='./dashboards/dist' -cf - .) | (cd "$PREFIX.new" && tar -xf -)
[ -d "$PREFIX/node_modules" ] && cp -a "$PREFIX/node_modules" "$PREFIX.new/node_modules"
(cd "$PREFIX.new" && npm ci --no-audit --no-fund --loglevel=error && npm run -s build:portal)
"$PREFIX.new/node_modules/.bin/node" --version | grep -q '^v2[4-9]\.' || die "npm ci did not install Node 24 into $PREFIX.new/node_modules/.bin"
chown -R root:root "$PREFIX.new"
rm -rf "$PREFIX.old"
[ -d "$PREFIX" ] && mv "$PREFIX" "$PREFIX.old"
mv "$PREFIX.new" "$PREFIX"
rm -rf "$PREFIX.old"

say "settings in $ETC/quantrac.env (kept when present)"
install -d -m 0750 -o root -g quantrac "$ETC"
# Generated from the installed code: every setting of this version, documented.
"$PREFIX/node_modules/.bin/node" "$PREFIX/ops/systemd/make-env.ts" "$ETC/quantrac.env.dist"
chown root:quantrac "$ETC/quantrac.env.dist"
chmod 0640 "$ETC/quantrac.env.dist"
if [ -f "$ETC/quantrac.env" ]; then
  say "kept your $ETC/quantrac.env; this version's full list is $ETC/quantrac.env.dist (diff them for new settings)"
else
  cp -p "$ETC/quantrac.env.dist" "$ETC/quantrac.env"
fi

say "systemd unit and the quantrac command"
install -m 0644 "$SRC/ops/systemd/quantrac.service" /etc/systemd/system/quantrac.service
install -m 0644 "$SRC/ops/systemd/quantrac@.service" /etc/systemd/system/quantrac@.service
install -m 0644 "$SRC/ops/systemd/quantrac.target" /etc/systemd/system/quantrac.target
install -m 0755 "$SRC/ops/systemd/quantrac-cli.sh" /usr/local/bin/quantrac

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now influxdb.service
  systemctl enable quantrac.service
  if [ "$START" = yes ]; then
    systemctl restart quantrac.service
    say "started: systemctl status quantrac; logs: journalctl -u quantrac -f"
  fi
else
  say "systemd is not running here (container?): start it with your init, or run as user quantrac:"
  say "  set -a; . $ETC/quantrac.env; set +a; $PREFIX/node_modules/.bin/node $PREFIX/server/main.ts"
fi
say "done. Next: quantrac users add <name> operator; quantrac gateways add <gatewayId>"
