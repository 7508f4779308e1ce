#!/bin/sh
# Installs (or upgrades) quantrac as a systemd service on Debian 12. Run as root from a checkout:
#   sudo sh ops/install.sh [--no-start]
# Idempotent: a second run upgrades the code in /opt/quantrac and keeps /etc/quantrac/quantrac.env
# and everything in /var/lib/quantrac. What it does, step by step: README.md › Production install.
set -eu

usage() { echo "usage: sh ops/install.sh [--no-start] [--root DIR]" >&2; exit 2; }
SRC=$(cd "$(dirname "$0")/.." && pwd)
START=yes
ROOT=
while [ $# -gt 0 ]; do
  case "$1" in
    --no-start) START=no ;;
    # Install into DIR as if it were / (a test's scratch root, an image being built): no apt-get,
    # no systemctl; the user goes into DIR/etc/passwd (systemd-sysusers --root). Files are laid out
    # exactly as on a server and still name /opt/quantrac, /etc/quantrac, /var/lib/quantrac.
    --root) [ $# -ge 2 ] || usage; ROOT=$(mkdir -p "$2" && cd "$2" && pwd); shift ;;
    --root=*) ROOT=$(mkdir -p "${1#--root=}" && cd "${1#--root=}" && pwd) ;;
    *) usage ;;
  esac
  shift
done
[ "$ROOT" = / ] && ROOT=
PREFIX=$ROOT/opt/quantrac
ETC=$ROOT/etc/quantrac
STATE=$ROOT/var/lib/quantrac

say() { printf 'quantrac install: %s\n' "$*"; }
die() { printf 'quantrac install: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: sudo sh $0"
[ -f "$SRC/server/main.ts" ] || die "run from a quantrac checkout ($SRC has no server/main.ts)"
if [ -z "$ROOT" ] && [ -r /etc/os-release ]; then
  . /etc/os-release
  [ "${ID:-}" = debian ] && [ "${VERSION_ID:-}" = 12 ] || say "warning: made for Debian 12, this is ${PRETTY_NAME:-unknown}"
fi

if [ -z "$ROOT" ]; then
  # Debian's nodejs + npm only to bootstrap (quantrac runs on the Node 24 npm installs), and only
  # when there is no npm: a Node from elsewhere (NodeSource's nodejs bundles npm) conflicts with
  # Debian's npm package.
  # Only what is missing: a package already there is left at its version (no surprise upgrade of
  # a running InfluxDB; apt-get upgrade is the operator's call).
  want="ca-certificates influxdb systemd"
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || want="$want nodejs npm"
  pkgs=
  for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || pkgs="$pkgs $p"
  done
  if [ -n "$pkgs" ]; then
    say "Debian packages:$pkgs"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  fi
fi
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || die "node and npm are needed to bootstrap (apt-get install nodejs npm)"

say "system user quantrac (sysusers.d)"
install -D -m 0644 "$SRC/ops/systemd/quantrac.sysusers" "$ROOT/usr/lib/sysusers.d/quantrac.conf"
mkdir -p "$ROOT/etc"
if command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers ${ROOT:+"--root=$ROOT"} "$ROOT/usr/lib/sysusers.d/quantrac.conf"
elif ! grep -q '^quantrac:' "$ROOT/etc/passwd" 2>/dev/null; then
  useradd ${ROOT:+--prefix "$ROOT"} --system --user-group --home-dir /var/lib/quantrac --shell /usr/sbin/nologin quantrac
fi
# Numeric ids from the (possibly scratch) root's own files: chown works before the name resolves.
QUID=$(awk -F: '$1 == "quantrac" { print $3 }' "$ROOT/etc/passwd")
QGID=$(awk -F: '$1 == "quantrac" { print $3 }' "$ROOT/etc/group")
[ -n "$QUID" ] && [ -n "$QGID" ] || die "the user quantrac was not created in $ROOT/etc/passwd"
install -d -m 0750 -o "$QUID" -g "$QGID" "$STATE"
# Where `quantrac backup --out` writes (it runs as the service user, who may not write elsewhere).
install -d -m 0750 -o "$QUID" -g "$QGID" "$ROOT/var/backups/quantrac"

say "code in $PREFIX (npm ci installs Node 24 into node_modules/.bin; the portal is built once)"
rm -rf "$PREFIX.new"
mkdir -p "$PREFIX.new"
(cd "$SRC" && tar --exclude=./node_modules --exclude=./.data --exclude=./.git --exclude='./dashboards/dist' -cf - .) | (cd "$PREFIX.new" && tar -xf -)
# The installed packages are reused (hard links) when the lock file has not changed since.
[ -d "$PREFIX/node_modules" ] && cp -al "$PREFIX/node_modules" "$PREFIX.new/node_modules"
(cd "$PREFIX.new" && node ops/setup.mjs install)
"$PREFIX.new/node_modules/.bin/node" --version | grep -q '^v2[4-9]\.' || die "npm ci did not install Node 24 into $PREFIX.new/node_modules/.bin"
chown -R root:root "$PREFIX.new"
rm -rf "$PREFIX.old"
[ -d "$PREFIX" ] && mv "$PREFIX" "$PREFIX.old"
mv "$PREFIX.new" "$PREFIX"
rm -rf "$PREFIX.old"

say "settings in $ETC/quantrac.env (kept when present)"
install -d -m 0750 -o root -g "$QGID" "$ETC"
# Generated from the installed code: every setting of this version, documented.
"$PREFIX/node_modules/.bin/node" "$PREFIX/ops/systemd/make-env.ts" "$ETC/quantrac.env.dist"
chown "root:$QGID" "$ETC/quantrac.env.dist"
chmod 0640 "$ETC/quantrac.env.dist"
if [ -f "$ETC/quantrac.env" ]; then
  say "kept your $ETC/quantrac.env; this version's full list is $ETC/quantrac.env.dist (diff them for new settings)"
else
  cp -p "$ETC/quantrac.env.dist" "$ETC/quantrac.env"
fi

# Per-role settings of the cluster units (quantrac@<role>.service): their own ports.
for f in "$SRC"/ops/systemd/roles/*.env; do
  role=$(basename "$f")
  [ -f "$ETC/$role" ] || install -m 0640 -o root -g "$QGID" "$f" "$ETC/$role"
done

say "systemd units and the quantrac command"
for unit in quantrac.service quantrac@.service quantrac.target; do
  install -D -m 0644 "$SRC/ops/systemd/$unit" "$ROOT/etc/systemd/system/$unit"
done
install -D -m 0755 "$SRC/ops/systemd/quantrac-cli.sh" "$ROOT/usr/local/bin/quantrac"

if [ -n "$ROOT" ]; then
  say "installed into $ROOT (nothing started)"
elif [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now influxdb.service
  systemctl enable quantrac.service
  if [ "$START" = yes ]; then
    systemctl restart quantrac.service
    say "started: systemctl status quantrac; logs: journalctl -u quantrac -f"
  fi
else
  say "systemd is not running here (a container?): start InfluxDB and quantrac with your init, e.g."
  say "  runuser -u influxdb -- influxd -config /etc/influxdb/influxdb.conf &"
  say "  cd $PREFIX && set -a && . $ETC/quantrac.env && set +a && runuser -u quantrac -- $PREFIX/node_modules/.bin/node $PREFIX/server/main.ts"
fi
say "done. Next: quantrac users add <name> operator; quantrac gateways add <gatewayId>"
