# targets.jq - the performance targets of issues 4, 5 and 15 as ratios, from
# the JSON of one `colo bench` run (each figure compared is from the same run):
#   jq -f bench/targets.jq r.json       (a pingpong run)
#   jq -f bench/targets.jq s.json       (a --pattern stream run)
#   jq -f bench/targets.jq c.json       (a --containers run; with --rounds N,
#                                        each ratio is the median of the N
#                                        ratios measured round by round)
# Each value is the measured ratio; the key says which way it must go. The
# floor is the reference row (bench/ref_ring.h, docs/bench.md). A target whose
# rows the run did not measure (another size, say) is null.
def sarow(a; t; m; api; sz): [.results[] | select(.arrangement == a and .transport == t and .mode == m
                                  and .api == api and (sz == null or .size == sz) and .verified)][0];
def arow(a; t; m): sarow(a; t; m; "copy"; null);
def row(t; m): arow("host"; t; m);
def srow(t; m; api; sz): sarow("host"; t; m; api; sz);
def floor(sz): srow("reference"; "spin"; "copy"; sz);
def r2: if . == null then null else . * 100 | round / 100 end;
# x's figure over y's: with --rounds, the median of the rounds' ratios (rows
# measured in the same round share the machine's state; this VM drifts 2-8x
# within a run), else the plain ratio of the rows' figures; against the floor,
# a --paired row's own floor_ratio (the floor run in turns in the same
# processes) comes first
def over(x; y):
  if x == null or y == null then null
  elif y.transport == "reference" and x.floor_ratio != null then x.floor_ratio
  else (if x.pattern == "stream" then "round_msgs_per_s" else "round_p50_ns" end) as $k
  | (if x.pattern == "stream" then "msgs_per_s" else "p50_ns" end) as $f
  | if (x[$k] | length) > 1 then
      [range(0; x[$k] | length) as $i | select(x[$k][$i] != null and y[$k][$i] != null) | x[$k][$i] / y[$k][$i]]
      | sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end
    else x[$f] / y[$f] end
  end;
# x over y, round by round (rows measured in the same round share the
# machine's state), the median of those ratios; one round: the plain ratio
def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def paired(x; y): if x.round_p50_ns == null then x.p50_ns / y.p50_ns else
                  [range(0; x.round_p50_ns | length) as $k
                   | select(x.round_p50_ns[$k] != null and y.round_p50_ns[$k] != null)
                   | x.round_p50_ns[$k] / y.round_p50_ns[$k]] | median end;
if .config.containers != null then {
  "ctr-bridge p50 / ctr-volume-auto memfd spin p50 (>= 50)":
    (paired(arow("ctr-bridge"; "tcp"; null); arow("ctr-volume-auto"; "memfd"; "spin")) | r2),
  "ctr-bridge p50 / ctr-shm-volume shm spin p50 (>= 50)":
    (paired(arow("ctr-bridge"; "tcp"; null); arow("ctr-shm-volume"; "shm"; "spin")) | r2),
  "ctr-volume-auto memfd spin p50 / host memfd spin p50 (<= 1.2)":
    (paired(arow("ctr-volume-auto"; "memfd"; "spin"); row("memfd"; "spin")) | r2),
  "ctr-shm-volume shm spin p50 / host shm spin p50 (<= 1.2)":
    (paired(arow("ctr-shm-volume"; "shm"; "spin"); row("shm"; "spin")) | r2),
  "ctr-bridge p50 / host reference p50 (what the minimal ring reaches)":
    (paired(arow("ctr-bridge"; "tcp"; null); row("reference"; "spin")) | r2)
} elif .results[0].pattern == "stream" then {
  "1K stream: shm spin GB/s (>= 4)": (srow("shm"; "spin"; "copy"; 1024).gb_per_s | r2),
  "1K stream: memfd spin GB/s (>= 4)": (srow("memfd"; "spin"; "copy"; 1024).gb_per_s | r2),
  "1K stream: the floor's GB/s": (floor(1024).gb_per_s | r2),
  "1K stream: shm spin copy / floor, msgs/s (>= 0.90)":
    (over(srow("shm"; "spin"; "copy"; 1024); floor(1024)) | r2),
  "1K stream: shm spin zero-copy / shm spin copy, msgs/s (>= 1.0)":
    (over(srow("shm"; "spin"; "zerocopy"; 1024); srow("shm"; "spin"; "copy"; 1024)) | r2),
  "1K stream: memfd spin copy / floor, msgs/s (>= 0.90)":
    (over(srow("memfd"; "spin"; "copy"; 1024); floor(1024)) | r2),
  "64B stream: shm spin copy / floor, msgs/s (>= 0.80)":
    (over(srow("shm"; "spin"; "copy"; 64); floor(64)) | r2),
  "64B stream: shm spin zero-copy / floor, msgs/s (>= 0.80)":
    (over(srow("shm"; "spin"; "zerocopy"; 64); floor(64)) | r2),
  "every shm and memfd row verified": ([.results[] | select(.transport == "shm" or .transport == "memfd") | .verified] | all)
} else {
  "shm spin p50 / reference p50 (<= 1.3)": (over(row("shm"; "spin"); row("reference"; "spin")) | r2),
  "memfd spin p50 / reference p50 (<= 1.3)": (over(row("memfd"; "spin"); row("reference"; "spin")) | r2),
  "1K pingpong: shm spin copy p50 / floor p50 (<= 1.10)":
    (over(srow("shm"; "spin"; "copy"; 1024); floor(1024)) | r2),
  "1K pingpong: shm spin zero-copy p50 / floor p50 (<= 1.0)":
    (over(srow("shm"; "spin"; "zerocopy"; 1024); floor(1024)) | r2),
  "1K pingpong: memfd spin copy p50 / floor p50 (<= 1.10)":
    (over(srow("memfd"; "spin"; "copy"; 1024); floor(1024)) | r2),
  "1K pingpong: memfd spin zero-copy p50 / floor p50 (<= 1.0)":
    (over(srow("memfd"; "spin"; "zerocopy"; 1024); floor(1024)) | r2),
  "1K pingpong: the floor's p50 (ns; the state of the machine: about 140 fast, 900+ slow)": (floor(1024).p50_ns),
  "64K pingpong: shm spin zero-copy p50 / floor p50 (<= 1.10)":
    (over(srow("shm"; "spin"; "zerocopy"; 65536); floor(65536)) | r2),
  "1K pingpong: shm hybrid copy p50 / shm spin copy p50 (<= 1.05)":
    (over(srow("shm"; "hybrid"; "copy"; 1024); srow("shm"; "spin"; "copy"; 1024)) | r2),
  "1K pingpong: memfd hybrid copy p50 / memfd spin copy p50 (<= 1.05)":
    (over(srow("memfd"; "hybrid"; "copy"; 1024); srow("memfd"; "spin"; "copy"; 1024)) | r2),
  "tcp p50 / shm spin p50 (>= 50)": (over(row("tcp"; null); row("shm"; "spin")) | r2),
  "tcp p50 / shm hybrid p50 (>= 50)": (over(row("tcp"; null); row("shm"; "hybrid")) | r2),
  "tcp p50 / memfd spin p50 (>= 50)": (over(row("tcp"; null); row("memfd"; "spin")) | r2),
  "tcp p50 / memfd hybrid p50 (>= 50)": (over(row("tcp"; null); row("memfd"; "hybrid")) | r2),
  "tcp p50 / reference p50 (what the floor reaches)": (over(row("tcp"; null); row("reference"; "spin")) | r2),
  "shm block p50 / unix p50 (<= 1.2)": (over(row("shm"; "block"); row("unix"; null)) | r2),
  "memfd block p50 / unix p50 (<= 1.2)": (over(row("memfd"; "block"); row("unix"; null)) | r2),
  "every shm and memfd row verified": ([.results[] | select(.transport == "shm" or .transport == "memfd") | .verified] | all)
} end
