#!/bin/sh
# bench_smoke.sh COLO WORKDIR - colo bench with tiny counts over every
# transport and pattern; checks what it wrote, never how fast it was.
#  - the JSON is valid and holds every row asked for (tcp-netns when root),
#    with percentiles in order, every payload checked on both sides;
#  - the CSV has a line per row; the chart is an SVG;
#  - a payload corrupted on the way back fails the run loudly (exit 1, the
#    message named), and a usage error exits 2;
#  - nothing is left behind: processes, namespaces, segments, directories.
set -eu
colo=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
cd "$work"
fail() { echo "bench_smoke: FAIL: $*" >&2; exit 1; }
command -v jq >/dev/null || fail "jq is missing (make test installs it)"

netns_rows=0
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null; then netns_rows=1; fi

# 1. pingpong: every transport, every mode
"$colo" bench --count 300 --warmup 30 --json p.json --csv p.csv --plot p.svg >p.out 2>p.err ||
  { cat p.err >&2; fail "pingpong run exited $?"; }
jq -e . p.json >/dev/null || fail "p.json is not JSON"
want=$((10 + netns_rows))
got=$(jq '.results | length' p.json)
[ "$got" -eq "$want" ] || fail "p.json has $got rows, expected $want"
for row in tcp:null unix:null fifo:null shm:spin shm:hybrid shm:block memfd:spin memfd:hybrid memfd:block \
           reference:spin; do
  t=${row%%:*} m=${row#*:}
  if [ "$m" = null ]; then sel=".transport == \"$t\" and .mode == null"
  else sel=".transport == \"$t\" and .mode == \"$m\""; fi
  n=$(jq "[.results[] | select($sel)] | length" p.json)
  [ "$n" -eq 1 ] || fail "no single row for $t $m"
done
if [ $netns_rows -eq 1 ]; then
  [ "$(jq '[.results[] | select(.transport == "tcp-netns")] | length' p.json)" -eq 1 ] || fail "no tcp-netns row"
else
  jq -e '.skipped[] | select(.transport == "tcp-netns")' p.json >/dev/null || fail "tcp-netns neither run nor skipped"
fi
jq -e '[.results[] | .arrangement == "host" and .pattern == "pingpong" and .size == 1024 and .count == 300
        and .verified == true and .error == null
        and .checked_messages.a == 330 and .checked_messages.b == 330
        and .p50_ns > 0 and .p50_ns <= .p90_ns and .p90_ns <= .p99_ns and .p99_ns <= .p999_ns
        and .p999_ns <= .max_ns and .msgs_per_s > 0 and .cpu_ns_per_op.a >= 0
        and .peak_rss_bytes.a > 0 and .peak_rss_bytes.b > 0] | all' p.json >/dev/null ||
  fail "a pingpong row is incomplete, out of order or unchecked: $(jq -c '.results[]' p.json)"
jq -e '.machine.cores >= 1 and (.machine.cpu_model | length) > 0 and (.machine.kernel | length) > 0
       and .machine.colo_version != null and .machine.clock_ns > 0' p.json >/dev/null || fail "machine is incomplete"
[ "$(wc -l <p.csv)" -eq $((want + 1)) ] || fail "p.csv should have $((want + 1)) lines"
grep -q '<svg' p.svg || fail "p.svg is not an SVG"
grep -q '^Verdict (1.0K messages): a round trip over shared memory' p.out || fail "no verdict line"
grep -q 'against TCP over loopback' p.out || fail "no savings lines"

# 2. stream and idle, two sizes, fewer rows
"$colo" bench --pattern stream --count 500 --warmup 10 --size 64,4K --transports tcp,unix,shm,reference \
  --modes hybrid --json s.json -q || fail "stream run exited $?"
jq -e '(.results | length) == 8 and ([.results[] | .verified and .gb_per_s > 0 and .p50_ns == null
        and .checked_messages.b == 510] | all)' s.json >/dev/null || fail "stream rows: $(jq -c . s.json)"
"$colo" bench --pattern idle --count 5 --warmup 1 --interval 1 --transports unix,memfd --modes block \
  --json i.json -q || fail "idle run exited $?"
jq -e '(.results | length) == 2 and ([.results[] | .verified and .interval_us == 1000
        and .p50_ns <= .max_ns] | all)' i.json >/dev/null || fail "idle rows: $(jq -c . i.json)"

# 3. a corrupted payload fails the run and says which message
set +e
COLO_TEST_BENCH_CORRUPT=7 "$colo" bench --count 20 --warmup 2 --transports shm --modes spin --json c.json -q 2>c.err
rc=$?
set -e
[ $rc -eq 1 ] || fail "a corrupted payload exited $rc, not 1"
grep -q 'message 7 does not match' c.err || fail "the corruption is not named: $(cat c.err)"
jq -e '.results[0].verified == false' c.json >/dev/null || fail "the corrupted row claims verified"
set +e
"$colo" bench --modes fast >/dev/null 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "a bad --modes exited $rc, not 2"

# --rounds: every round's p50 in the order they ran, the row being the median one
"$colo" bench --count 200 --warmup 20 --transports tcp,shm --modes spin --rounds 3 --json r.json -q ||
  fail "--rounds 3 exited $?"
jq -e '.config.rounds == 3 and (.results | length) == 2' r.json >/dev/null || fail "--rounds: config or rows"
jq -e 'all(.results[]; (.round_p50_ns | length) == 3 and (.round_p50_ns | sort)[1] == .p50_ns)' r.json >/dev/null ||
  fail "--rounds: a row is not its median round: $(jq -c '[.results[] | [.p50_ns, .round_p50_ns]]' r.json)"
set +e
"$colo" bench --rounds 0 >/dev/null 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "--rounds 0 exited $rc, not 2"

# 4. nothing left behind
sleep 0.2
# (ours only: tests/containers.sh may run workers in containers meanwhile,
# in PID namespaces of their own)
for p in $(pgrep -f '__bench-worker' || true); do
  if [ "$(readlink /proc/$p/ns/pid 2>/dev/null)" = "$(readlink /proc/self/ns/pid)" ]; then
    fail "worker processes left running"
  fi
done
if command -v ip >/dev/null && ip netns list 2>/dev/null | grep -q '^colo-bench-'; then fail "network namespaces left"; fi
if ls /dev/shm 2>/dev/null | grep -q '^colo.colo-bench-'; then fail "segments left in /dev/shm"; fi
echo "bench_smoke: every check passed ($got pingpong rows, 8 stream rows, 2 idle rows, corruption caught)"
