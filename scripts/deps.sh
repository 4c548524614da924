#!/bin/sh
# deps.sh PACKAGE... - installs the Debian packages that are missing.
#
# As root it runs apt-get itself, with sudo when sudo is there and works
# without a password; otherwise it prints the apt-get line to run and fails.
# Nothing is installed when every package is present already.
set -eu

missing=""
for p in "$@"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -eq 0 ]; then
  run=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run="sudo"
else
  echo "colo: these Debian packages are missing:$missing" >&2
  echo "colo: install them as root, then run make again:" >&2
  echo "  sudo $line" >&2
  exit 1
fi

echo "colo: installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet, or stale ones: update once,
# and again if the install fails on a missing or moved package.
if ! $run apt-get install -y --no-install-recommends $missing >/dev/null 2>&1; then
  n=0
  until $run apt-get update -qq >/dev/null 2>&1; do
    n=$((n + 1))
    [ $n -lt 3 ] || { echo "colo: apt-get update failed 3 times" >&2; exit 1; }
    sleep 5
  done
  if ! $run apt-get install -y -q --no-install-recommends $missing >&2; then
    echo "colo: could not install:$missing (try: $line)" >&2
    exit 1
  fi
fi
