#!/bin/sh
# cli_wine.sh COLO_EXE WORKDIR - the Windows colo.exe as a user runs it from a
# shell under Wine: issue 14's acceptance scenarios, as tests.
#  - seq 1000 through recv --count 1000 and send, for shm://, file:///Z:/...,
#    pipe:// and tcp://: every line arrives, in order, byte for byte (no \r:
#    stdio is binary), and a file:// segment is gone after both exit (also
#    when both exit at once, twelve times over);
#  - a send killed with SIGKILL (its Wine process) while recv waits makes recv
#    exit non-zero within 2 seconds saying the peer died, over shm:// and
#    pipe://;
#  - 64 random bytes over the head of a live file:// segment make a new send
#    fail with one line saying the segment is corrupt;
#  - --help and --version exit 0, a usage error exits 2 and a bad endpoint 1,
#    with the reason (README: 0 success, 1 failure, 2 usage error).
# Run by ctest in the Windows build tree (scripts/wine-ctest.sh exports
# WINEPREFIX and starts the wineserver). Prints a Criterion-style synthesis.
set -u
exe=$1
work=$2
# (WINEDEBUG=-all also keeps Debian's wine wrapper from printing its wine32
# hint on stderr, which would be counted as the command's output.)
export WINEDEBUG=-all
W="wine $exe"
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
tag="cli$$"
port=$((20000 + $$ % 12000))
tested=0 failed=0

pass() { tested=$((tested + 1)); echo "[PASS] $1"; }
fail() { tested=$((tested + 1)) failed=$((failed + 1)); echo "[FAIL] $1: $2"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# waits up to $2 seconds for the shell condition $1
await() {
  i=0
  while [ $i -lt $(($2 * 20)) ]; do
    eval "$1" && return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

# ---- seq 1000 through recv and send ------------------------------------------
seq_through() { # name endpoint [file behind it]
  name=$1 ep=$2 file=${3:-}
  d="$work/$name"
  mkdir -p "$d"
  $W recv "$ep" --count 1000 >"$d/out" 2>"$d/recv.err" &
  rp=$!
  seq 1000 | $W send "$ep" 2>"$d/send.err"
  src=$?
  wait $rp
  rrc=$?
  if [ $src -ne 0 ] || [ $rrc -ne 0 ]; then
    fail "$name" "send exited $src ($(cat "$d/send.err")), recv exited $rrc ($(cat "$d/recv.err"))"
  elif ! seq 1000 | cmp -s - "$d/out"; then
    fail "$name" "recv printed something else: $(head -c 200 "$d/out" | od -c | head -3)"
  elif [ -n "$file" ] && [ -e "$file" ]; then
    fail "$name" "$file is still there after both exited"
  else
    pass "$name"
  fi
}

mkdir -p "$work/wdemo"
seq_through seq_1000_over_shm "shm://$tag.demo"
seq_through seq_1000_over_a_mapped_file "file:///Z:$work/wdemo/seg" "$work/wdemo/seg"
seq_through seq_1000_over_a_named_pipe "pipe://$tag.demo"
seq_through seq_1000_over_tcp "tcp://127.0.0.1:$port"

# ---- both sides closing at once leave no file:// segment behind ----------------
# (the last one out removes the file; Windows cannot delete a file another
# process still maps, so the first one out unmaps before it lets go: without
# that, about one run in five left the file behind)
closes_at_once() {
  name=both_sides_closing_at_once_leave_no_mapped_file_behind
  d="$work/closes"
  mkdir -p "$d"
  left=0 bad=""
  for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    f="$d/seg$i"
    $W recv "file:///Z:$f" -t 5 >"$d/out$i" 2>"$d/recv$i.err" &
    rp=$!
    # (recv listening and asleep when send comes, as a user's would be)
    await "[ -e '$f' ]" 5
    sleep 0.3
    echo msg | $W send "file:///Z:$f" 2>"$d/send$i.err"
    src=$?
    wait $rp
    rrc=$?
    [ $src -eq 0 ] && [ $rrc -eq 0 ] || bad="run $i: send exited $src, recv $rrc ($(cat "$d/send$i.err" "$d/recv$i.err"))"
    [ -e "$f" ] && left=$((left + 1))
  done
  if [ -n "$bad" ]; then fail "$name" "$bad"
  elif [ $left -ne 0 ]; then fail "$name" "$left of 12 runs left their segment file behind"
  else pass "$name"; fi
}
closes_at_once

# ---- a killed sender ---------------------------------------------------------
killed_sender() { # name endpoint
  name=$1 ep=$2
  d="$work/$name"
  mkdir -p "$d"
  mkfifo "$d/in"
  $W recv "$ep" >"$d/out" 2>"$d/recv.err" &
  rp=$!
  $W send "$ep" <"$d/in" 2>"$d/send.err" &
  sp=$!
  exec 3>"$d/in"
  echo first >&3
  if ! await "grep -q first '$d/out' 2>/dev/null" 30; then
    fail "$name" "the first line never arrived (send: $(cat "$d/send.err"); recv: $(cat "$d/recv.err"))"
    kill -9 $sp $rp 2>/dev/null
    exec 3>&-
    wait
    return
  fi
  # $sp is the Wine process that runs colo.exe (wine execs into it).
  comm=$(tr '\0' ' ' </proc/$sp/cmdline 2>/dev/null)
  t0=$(now_ms)
  kill -9 $sp
  await "! kill -0 $rp 2>/dev/null" 10
  t1=$(now_ms)
  wait $rp
  rrc=$?
  exec 3>&-
  wait $sp 2>/dev/null
  ms=$((t1 - t0))
  case "$comm" in *colo.exe*) ;; *) fail "$name" "the killed process was not colo.exe: '$comm'"; return ;; esac
  if [ $rrc -eq 0 ]; then
    fail "$name" "recv exited 0 after its sender was killed"
  elif [ $ms -gt 2000 ]; then
    fail "$name" "recv took $ms ms to see the death (at most 2000): $(cat "$d/recv.err")"
  elif ! grep -qi 'peer.*died\|died' "$d/recv.err"; then
    fail "$name" "recv exited $rrc without saying the peer died: $(cat "$d/recv.err")"
  else
    pass "$name (recv exited $rrc in $ms ms: $(head -1 "$d/recv.err"))"
  fi
}

killed_sender a_killed_sender_is_reported_within_2_seconds_over_shm "shm://$tag.kill"
killed_sender a_killed_sender_is_reported_within_2_seconds_over_a_named_pipe "pipe://$tag.kill"

# ---- a corrupt segment -------------------------------------------------------
corrupt_segment() {
  name=a_send_to_a_corrupt_segment_fails_saying_so
  d="$work/corrupt"
  mkdir -p "$d"
  seg="$d/seg"
  $W recv "file:///Z:$seg" >/dev/null 2>"$d/recv.err" &
  rp=$!
  if ! await "[ -s '$seg' ]" 30; then
    fail "$name" "the listener never made $seg: $(cat "$d/recv.err")"
    kill -9 $rp 2>/dev/null
    wait
    return
  fi
  sleep 0.3 # (its header is written once it is sized; then it waits for a peer)
  head -c 64 /dev/urandom | dd of="$seg" bs=64 count=1 conv=notrunc 2>/dev/null
  $W send "file:///Z:$seg" </dev/null >/dev/null 2>"$d/send.err"
  src=$?
  kill -9 $rp 2>/dev/null
  wait $rp 2>/dev/null
  n=$(wc -l <"$d/send.err")
  if [ $src -eq 0 ]; then
    fail "$name" "send exited 0"
  elif [ "$n" -ne 1 ]; then
    fail "$name" "send wrote $n lines, not one: $(cat "$d/send.err")"
  elif ! grep -q 'corrupt' "$d/send.err"; then
    fail "$name" "the error does not say corrupt: $(cat "$d/send.err")"
  else
    pass "$name (exit $src: $(cat "$d/send.err"))"
  fi
}
corrupt_segment

# ---- help, version, usage errors ---------------------------------------------
d="$work/usage"
mkdir -p "$d"
$W --help >"$d/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q 'send' "$d/out" && grep -q 'recv' "$d/out"; then pass help_exits_0_and_names_the_commands
else fail help_exits_0_and_names_the_commands "exit $rc: $(head -3 "$d/out")"; fi
$W --version >"$d/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q '^colo [0-9]' "$d/out"; then pass version_exits_0
else fail version_exits_0 "exit $rc: $(cat "$d/out")"; fi
$W frobnicate >"$d/out" 2>"$d/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown command 'frobnicate'" "$d/err"; then pass an_unknown_command_exits_2
else fail an_unknown_command_exits_2 "exit $rc: $(cat "$d/err")"; fi
$W recv "shm://$tag.u" --bogus >"$d/out" 2>"$d/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown option '--bogus'" "$d/err"; then pass an_unknown_option_exits_2
else fail an_unknown_option_exits_2 "exit $rc: $(cat "$d/err")"; fi
$W recv "nosuch://x" >"$d/out" 2>"$d/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "unknown transport 'nosuch'" "$d/err" && [ "$(wc -l <"$d/err")" -eq 1 ]; then
  pass a_bad_endpoint_exits_1_with_the_reason_in_one_line
else fail a_bad_endpoint_exits_1_with_the_reason_in_one_line "exit $rc: $(cat "$d/err")"; fi

echo "[====] Synthesis: Tested: $tested | Passing: $((tested - failed)) | Failing: $failed | Crashing: 0"
[ $failed -eq 0 ] && rm -rf "$work"
[ $failed -eq 0 ]
