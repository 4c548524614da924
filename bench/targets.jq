# targets.jq - the performance targets of issues 4 and 5 as ratios, from the
# JSON of one `colo bench` run (each figure compared is from the same run):
#   jq -f bench/targets.jq r.json       (a pingpong run)
#   jq -f bench/targets.jq s.json       (a --pattern stream run)
#   jq -f bench/targets.jq c.json       (a --containers run; with --rounds N,
#                                        each ratio is the median of the N
#                                        ratios measured round by round)
# Each value is the measured ratio; the key says which way it must go.
def arow(a; t; m): [.results[] | select(.arrangement == a and .transport == t and .mode == m and .verified)][0];
def row(t; m): arow("host"; t; m);
def r2: . * 100 | round / 100;
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
  "shm spin GB/s (>= 4)": (row("shm"; "spin").gb_per_s | r2),
  "memfd spin GB/s (>= 4)": (row("memfd"; "spin").gb_per_s | r2),
  "reference GB/s (what the minimal ring reaches)": (row("reference"; "spin").gb_per_s | r2),
  "shm spin / reference throughput": ((row("shm"; "spin").gb_per_s / row("reference"; "spin").gb_per_s) | r2)
} else {
  "shm spin p50 / reference p50 (<= 1.3)": ((row("shm"; "spin").p50_ns / row("reference"; "spin").p50_ns) | r2),
  "memfd spin p50 / reference p50 (<= 1.3)": ((row("memfd"; "spin").p50_ns / row("reference"; "spin").p50_ns) | r2),
  "tcp p50 / shm spin p50 (>= 50)": ((row("tcp"; null).p50_ns / row("shm"; "spin").p50_ns) | r2),
  "tcp p50 / shm hybrid p50 (>= 50)": ((row("tcp"; null).p50_ns / row("shm"; "hybrid").p50_ns) | r2),
  "tcp p50 / memfd spin p50 (>= 50)": ((row("tcp"; null).p50_ns / row("memfd"; "spin").p50_ns) | r2),
  "tcp p50 / memfd hybrid p50 (>= 50)": ((row("tcp"; null).p50_ns / row("memfd"; "hybrid").p50_ns) | r2),
  "tcp p50 / reference p50 (what the minimal ring reaches)": ((row("tcp"; null).p50_ns / row("reference"; "spin").p50_ns) | r2),
  "shm block p50 / unix p50 (<= 1.2)": ((row("shm"; "block").p50_ns / row("unix"; null).p50_ns) | r2),
  "memfd block p50 / unix p50 (<= 1.2)": ((row("memfd"; "block").p50_ns / row("unix"; null).p50_ns) | r2)
} end
