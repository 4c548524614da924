#!/bin/sh
# leftovers.sh COLO - after the tests: remove the segments the tests named
# (shm://t.*) that no live process holds, and list them. A passing run leaves
# none; a failed test may leave some, which would fill /dev/shm over time.
colo=$1
n=0
for f in /dev/shm/colo.t.*; do
  [ -e "$f" ] || continue
  name=${f#/dev/shm/colo.}
  if "$colo" rm "shm://$name" 2>/dev/null; then
    echo "removed a leftover test segment: shm://$name"
    n=$((n + 1))
  fi
done
echo "$n leftover test segments removed"
