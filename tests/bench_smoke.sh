#!/bin/sh
# bench_smoke.sh COLO WORKDIR - colo bench with tiny counts over every
# transport and pattern; checks what it wrote, never how fast it was.
#  - the JSON is valid and holds every row asked for (tcp-netns when root),
#    shm and memfd with both APIs, with percentiles in order, every payload
#    checked on both sides (and in a stream, every length and sequence number
#    and the XXH3 of the sample), and says which checks ran;
#  - the CSV has a line per row; both charts are SVGs;
#  - a payload corrupted on the way back, or in a stream, and a stream
#    message out of sequence fail the run loudly (exit 1, the message named),
#    and a usage error exits 2;
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
want=$((16 + netns_rows))
got=$(jq '.results | length' p.json)
[ "$got" -eq "$want" ] || fail "p.json has $got rows, expected $want"
for row in tcp:null:copy unix:null:copy fifo:null:copy reference:spin:copy \
           shm:spin:copy shm:hybrid:copy shm:block:copy memfd:spin:copy memfd:hybrid:copy memfd:block:copy \
           shm:spin:zerocopy shm:hybrid:zerocopy shm:block:zerocopy \
           memfd:spin:zerocopy memfd:hybrid:zerocopy memfd:block:zerocopy; do
  t=${row%%:*} m=${row#*:} a=${m#*:} m=${m%%:*}
  if [ "$m" = null ]; then sel=".transport == \"$t\" and .mode == null and .api == \"$a\""
  else sel=".transport == \"$t\" and .mode == \"$m\" and .api == \"$a\""; fi
  n=$(jq "[.results[] | select($sel)] | length" p.json)
  [ "$n" -eq 1 ] || fail "no single row for $t $m $a"
done
if [ $netns_rows -eq 1 ]; then
  [ "$(jq '[.results[] | select(.transport == "tcp-netns")] | length' p.json)" -eq 1 ] || fail "no tcp-netns row"
else
  jq -e '.skipped[] | select(.transport == "tcp-netns")' p.json >/dev/null || fail "tcp-netns neither run nor skipped"
fi
jq -e '[.results[] | .arrangement == "host" and .pattern == "pingpong" and .size == 1024 and .count == 300
        and .verified == true and .error == null
        and .checked_messages.a == 330 and .checked_messages.b == 330
        and .checks.length == {"a": 330, "b": 330} and .checks.xxh3 == {"a": 330, "b": 330}
        and .checks.sequence == {"a": 0, "b": 0} and (.checks.where | test("after the timing"))
        and .percentiles_ns["50"] == .p50_ns and .percentiles_ns["100"] == .max_ns
        and .percentiles_ns["0"] == .min_ns and .percentiles_ns["99.99"] <= .max_ns
        and .p50_ns > 0 and .p50_ns <= .p90_ns and .p90_ns <= .p99_ns and .p99_ns <= .p999_ns
        and .p999_ns <= .max_ns and .msgs_per_s > 0 and .cpu_ns_per_op.a >= 0
        and .peak_rss_bytes.a > 0 and .peak_rss_bytes.b > 0] | all' p.json >/dev/null ||
  fail "a pingpong row is incomplete, out of order or unchecked: $(jq -c '.results[]' p.json)"
jq -e '.machine.cores >= 1 and (.machine.cpu_model | length) > 0 and (.machine.kernel | length) > 0
       and .machine.colo_version != null and .machine.clock_ns > 0' p.json >/dev/null || fail "machine is incomplete"
[ "$(wc -l <p.csv)" -eq $((want + 1)) ] || fail "p.csv should have $((want + 1)) lines"
grep -q '<svg' p.svg || fail "p.svg is not an SVG"
grep -q '<svg' p-percentiles.svg || fail "p-percentiles.svg (the percentile distribution) is not an SVG"
grep -q 'reference (spin)' p-percentiles.svg || fail "the percentile chart has no line for the floor"
grep -q '^Verdict (1.0K messages): a round trip over shared memory' p.out || fail "no verdict line"
grep -q 'against TCP over loopback' p.out || fail "no savings lines"

# 2. stream and idle, two sizes, fewer rows
"$colo" bench --pattern stream --count 500 --warmup 10 --size 64,4K --transports tcp,unix,shm,reference \
  --modes hybrid --json s.json -q || fail "stream run exited $?"
# (10 rows: tcp, unix, shm copy and zero-copy, reference; each at two sizes;
# 510 messages: every one of them in the first and last thousand, so XXH3 of each)
jq -e '(.results | length) == 10 and ([.results[] | .verified and .gb_per_s > 0 and .p50_ns == null
        and .checked_messages.b == 510 and .checks.length.b == 510 and .checks.sequence.b == 510
        and .checks.xxh3.b == 510 and .checks.length.a == 0 and (.checks.where | test("receive loop"))] | all)
        and ([.results[] | select(.transport == "shm") | .api] | sort) == ["copy", "copy", "zerocopy", "zerocopy"]' \
  s.json >/dev/null || fail "stream rows: $(jq -c . s.json)"
# past the first and last thousand only a sample is hashed: 3000 + 20 messages
# hash 1000 + 1000 + those of the 1020 in between that are multiples of 64
"$colo" bench --pattern stream --count 3000 --warmup 20 --size 64 --transports shm --modes spin --api zerocopy \
  --json z.json -q || fail "a zero-copy stream run exited $?"
jq -e '(.results | length) == 1 and .results[0].api == "zerocopy" and .results[0].verified
       and .results[0].checks.sequence.b == 3020 and .results[0].checks.xxh3.b == 2016' z.json >/dev/null ||
  fail "the stream's XXH3 sample: $(jq -c '.results[0].checks' z.json)"
"$colo" bench --pattern idle --count 5 --warmup 1 --interval 1 --transports unix,memfd --modes block --api copy \
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
jq -e '[.results[] | .verified == false] | all' c.json >/dev/null || fail "a corrupted row claims verified"
for api in copy zerocopy; do
  set +e
  COLO_TEST_BENCH_CORRUPT=9 "$colo" bench --pattern stream --count 50 --warmup 2 --size 1K --transports shm \
    --modes spin --api $api -q 2>cs.err
  rc=$?
  COLO_TEST_BENCH_RENUMBER=11 "$colo" bench --pattern stream --count 50 --warmup 2 --size 1K --transports shm \
    --modes spin --api $api -q 2>cr.err
  rc2=$?
  set -e
  [ $rc -eq 1 ] && grep -q 'message 9 does not match' cs.err || fail "stream ($api): a corrupted payload: exit $rc, $(cat cs.err)"
  [ $rc2 -eq 1 ] && grep -q 'message 11 arrived carrying sequence number 12' cr.err ||
    fail "stream ($api): a message out of sequence: exit $rc2, $(cat cr.err)"
done
set +e
"$colo" bench --modes fast >/dev/null 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "a bad --modes exited $rc, not 2"

# --paired: a ring row runs the floor in turns in the same processes and says
# its p50 and the ratio; every payload of both series is checked
"$colo" bench --count 300 --warmup 30 --transports shm,memfd --modes spin --api copy --paired --json pr.json -q ||
  fail "--paired exited $?"
jq -e '(.results | length) == 2 and all(.results[]; .paired and .verified and .floor_p50_ns > 0
       and .floor_p50_ns <= .floor_p99_ns and (.floor_ratio - .p50_ns / .floor_p50_ns | fabs) < 0.001)' pr.json \
  >/dev/null || fail "--paired rows: $(jq -c '.results' pr.json)"
jq -e 'all(.results[]; .paired == false and .floor_ratio == null)' p.json >/dev/null ||
  fail "rows without --paired claim a floor ratio"

# --rounds: every round's p50 in the order they ran, the row being the median one
"$colo" bench --count 200 --warmup 20 --transports tcp,shm --modes spin --api copy --rounds 3 --json r.json -q ||
  fail "--rounds 3 exited $?"
jq -e '.config.rounds == 3 and (.results | length) == 2' r.json >/dev/null || fail "--rounds: config or rows"
jq -e 'all(.results[]; (.round_p50_ns | length) == 3 and (.round_p50_ns | sort)[1] == .p50_ns)' r.json >/dev/null ||
  fail "--rounds: a row is not its median round: $(jq -c '[.results[] | [.p50_ns, .round_p50_ns]]' r.json)"
set +e
"$colo" bench --rounds 0 >/dev/null 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "--rounds 0 exited $rc, not 2"
set +e
"$colo" bench --api none >/dev/null 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "--api none exited $rc, not 2"

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
echo "bench_smoke: every check passed ($got pingpong rows, 11 stream rows, 2 idle rows, corruption and a renumbered message caught)"
