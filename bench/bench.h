/*
 * bench.h - colo bench: what the driver (bench.c and the files of
 * driver.h), its worker processes (worker.c) and its report (report.c)
 * share; the names and figures of rows are in row.c.
 *
 * A row is one measurement: a transport (and wait mode), a pattern and a
 * message size, run between two worker processes the driver starts: side B
 * listens (the echo side in a round trip, the receiver in a stream) and side
 * A connects (the side that keeps time in a round trip, the sender in a
 * stream). Each side reports one "result" line on its stdout.
 */
#ifndef COLO_BENCH_H
#define COLO_BENCH_H

#include <stdint.h>
#include <stdio.h>

#define BENCH_MAX_ROWS 256
#define BENCH_MAX_SIZES 16
#define BENCH_MAX_ROUNDS 15   /* --rounds */
#define BENCH_PAYLOADS 8          /* distinct payloads per size, each with its XXH3 */
#define BENCH_OP_TIMEOUT_MS 15000 /* any one send, receive or connect */

typedef enum bench_transport {
  BT_TCP, BT_TCP_NETNS, BT_UNIX, BT_FIFO, BT_SHM, BT_MEMFD, BT_REFERENCE, BT_COUNT
} bench_transport_t;

/* Where the two sides run: two host processes, or two containers arranged
 * so (docs/containers.md). */
typedef enum bench_arr {
  BA_HOST, BA_CTR_BRIDGE, BA_CTR_VOLUME_SOCKET, BA_CTR_VOLUME_AUTO, BA_CTR_SHM_VOLUME, BA_CTR_IPC_SHARED, BA_COUNT
} bench_arr_t;
const char *bench_arr_name(bench_arr_t a);
/* The transport each container arrangement uses. */
bench_transport_t bench_arr_transport(bench_arr_t a);

typedef enum bench_pattern { BP_PINGPONG, BP_STREAM, BP_IDLE } bench_pattern_t;

/* The API a row drives: colo_send/colo_recv (copy), or colo_reserve/commit
 * and colo_peek/release (zero-copy: the ring transports only). */
typedef enum bench_api { BAPI_COPY, BAPI_ZEROCOPY, BAPI_COUNT } bench_api_t;
const char *bench_api_name(bench_api_t a);
/* Transports whose channels have the zero-copy calls (ring transports). */
int bench_transport_has_zerocopy(bench_transport_t t);

/* Percentiles of a round trip's distribution the workers report and the
 * percentile chart draws (the last is the maximum). */
#define BENCH_NPCT 12
extern const double bench_pcts[BENCH_NPCT];

/* In a stream, which messages the receiver checks with XXH3 (every one is
 * checked for length and sequence number): the first and last thousand and
 * every 64th, the sample the checking costs little on the timed path for. */
int bench_stream_hashes(uint64_t i, uint64_t total);
uint64_t bench_stream_hashed(uint64_t total);

/* "tcp", "tcp-netns", ... as in the JSON; bench_transport_parse: -1 if unknown. */
const char *bench_transport_name(bench_transport_t t);
int bench_transport_parse(const char *s, size_t n);
/* An arrangement's index by its name ("ctr-bridge"), -1 if unknown. */
int bench_arr_parse(const char *s, size_t n);
/* Transports with a wait mode (ring transports); the reference spins. */
int bench_transport_has_mode(bench_transport_t t);
const char *bench_pattern_name(bench_pattern_t p);

/* One side's report. */
typedef struct bench_side {
  uint64_t cpu_ns;     /* CPU time (user + system) during the timed messages */
  uint64_t peak_rss;   /* bytes */
  uint64_t verified;   /* payloads checked and equal (length, and sequence or XXH3) */
  uint64_t seq_checked;  /* of them, whose sequence number was checked */
  uint64_t hashed;       /* of them, whose XXH3 was checked */
  uint64_t floor_verified; /* --paired: the floor's payloads checked */
} bench_side_t;

typedef struct bench_row {
  bench_arr_t arr;
  bench_transport_t transport;
  int mode;            /* colo_wait_mode_t, or -1 for none (sockets) */
  bench_api_t api;
  int paired;          /* --paired: the floor ran in alternating blocks in the same processes */
  bench_pattern_t pattern;
  uint64_t size, count, warmup, interval_us;
  /* results */
  int done;            /* measured (both sides reported) */
  int ok;              /* every payload matched */
  char error[512];     /* why the row failed, when it did */
  uint64_t p50, p90, p99, p999, max, min; /* ns per round trip (pingpong, idle) */
  uint64_t pct[BENCH_NPCT];                /* at bench_pcts (pingpong, idle) */
  uint64_t floor_p50, floor_p99;           /* --paired: the floor's, in the same blocks */
  double mean;
  uint64_t elapsed_ns; /* of the timed messages */
  uint64_t clock_ns;   /* cost of one clock reading, measured by side A */
  bench_side_t a, b;
  /* --rounds: the row's figures are those of its median round; these are the
   * p50 (pingpong, idle) or messages/s (stream) of each round, in the order
   * they ran (0 for a round that failed), so that rows measured in the same
   * round can be compared round by round */
  double round_figure[BENCH_MAX_ROUNDS];
  int rounds_ok;
} bench_row_t;

/* Figures derived from a row. */
double bench_msgs_per_s(const bench_row_t *r);
double bench_gb_per_s(const bench_row_t *r);
/* "shm (spin)", "shm (spin, zero-copy)", "tcp"; with containers, the
 * arrangement first: "ctr-bridge tcp" */
void bench_row_label(const bench_row_t *r, int with_arr, char *buf, size_t cap);
const char *bench_mode_name(int mode); /* NULL for none */
/* A round's figure, what the median round is chosen by: the p50 (pingpong,
 * idle) or messages/s (stream). */
double bench_row_figure(const bench_row_t *r);

/* A whole run: what the driver fills and report.c prints and writes. */
typedef struct bench_run {
  bench_row_t rows[BENCH_MAX_ROWS];
  int nrows;
  char skipped[BT_COUNT][256]; /* why a requested transport was not measured ("" when it was) */
  int cpu_a, cpu_b;            /* -1: not pinned */
  int rounds;                  /* each row measured this many times, interleaved */
  uint64_t seed;
  char engine[16];             /* the container engine (--containers), "" for none */
  char dir[256];               /* the run's private directory (endpoints, plot data) */
} bench_run_t;

void bench_print_table(FILE *f, const bench_run_t *run);
void bench_print_savings(FILE *f, const bench_run_t *run);
int bench_write_json(const char *path, const bench_run_t *run);
int bench_write_csv(const char *path, const bench_run_t *run);
int bench_write_plot(const char *path, const bench_run_t *run);
/* a's figure over b's: the median over the rounds both passed of the ratio
 * of their figures in that round (rows measured close together share the
 * machine's state); with one round, the plain ratio. 0 when none. */
double bench_paired_ratio(const bench_run_t *run, const bench_row_t *a, const bench_row_t *b);

/* The worker process: `colo __bench-worker a|b key=value...`. */
int bench_worker_main(int argc, char **argv);

/* `colo bench` (bench.c): the one entry point the command's dispatch calls. */
int cmd_bench(int argc, char **argv);

#endif
