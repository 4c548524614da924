#!/bin/sh
# wine-ctest.sh BUILD_DIR [CTEST ARGS...] - runs a Windows build tree's tests
# under Wine (CMAKE_CROSSCOMPILING_EMULATOR makes ctest start each test with
# wine), in a Wine prefix of the tree's own, BUILD_DIR/wineprefix.
#
# What was learned running them here (../shared/RECIPES.md):
#  - a persistent wineserver, started first with its output sent to
#    /dev/null: otherwise ctest waits ~2.5 s per test for wineserver to let go
#    of the test's stderr, or hangs;
#  - the first start makes the prefix (7-10 s, ~700 MB); it is reused after;
#  - a new prefix says Windows 7: set 10, the version colo is written for;
#  - the wineserver is stopped at the end, whatever happened, and one left
#    running for the prefix is stopped first.
set -eu
dir=$(cd "$1" && pwd)
shift
export WINEPREFIX="$dir/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$WINEPREFIX"
# A server left running for this prefix would make a second "-p" wait for
# it to exit: stop it first (this affects only this prefix).
wineserver -k >/dev/null 2>&1 || true
wineserver -w >/dev/null 2>&1 || true # until it has exited (none is persistent now)
wineserver -p </dev/null >/dev/null 2>&1
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT INT TERM HUP
fresh=0
[ -f "$WINEPREFIX/system.reg" ] || fresh=1
wine cmd /c exit 0 </dev/null >/dev/null 2>&1
if [ "$fresh" -eq 1 ]; then
  # (Not "wineserver -w" after it: the persistent server never exits.)
  wine winecfg -v win10 </dev/null >/dev/null 2>&1 || true
fi
echo "wine-ctest: $(wine --version) in $WINEPREFIX (Windows $(wine cmd /c ver </dev/null 2>/dev/null | tr -d '\r' | grep -o '[0-9][0-9.]*' | head -1))" >&2
cd "$dir"
ctest "$@"
