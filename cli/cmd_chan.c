/*
 * cmd_chan.c - `colo recv` and `colo send`: a channel from the shell.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/os.h"
#include "util.h"

#define CONNECT_TIMEOUT_DEFAULT_MS 10000

static const char recv_help[] =
    "Usage: colo recv ENDPOINT [options]\n"
    "\n"
    "Listens on ENDPOINT, waits for one peer (colo send, or a program using\n"
    "libcolo) and prints each message it receives on stdout, followed by a\n"
    "newline. Exits 0 when the peer closes the channel, after --count\n"
    "messages, or when stdout is closed (colo recv ... | head -1).\n"
    TOS_STOPS " stop it at once (exit 130).\n"
    "However it ends (short of SIGKILL or TerminateProcess), it closes the\n"
    "channel (the peer is told so) and removes the endpoint.\n"
    "\n"
    "Endpoints:  colo:///PATH     automatic: the fastest of memfd, shm and the\n"
    "                             socket at PATH that works (-v says why)\n"
    "            shm://NAME       " TOS_SHM_WHAT "\n"
    "            file:///PATH     a file-backed mapping on any mount\n"
    "            unix:///PATH     an AF_UNIX socket\n"
    "            " TOS_PIPE_EP "     " TOS_PIPE_WHAT "\n"
    "            tcp://HOST:PORT  TCP (port 0 picks one; -v prints it)\n"
    "\n"
    "Options:\n"
    "  -n, --count N          exit after N messages\n"
    "  -t, --timeout SECONDS  fail when no peer connects, or no message arrives,\n"
    "                         within SECONDS (default: wait forever)\n"
    "      --mode MODE        how to wait: hybrid (default), spin or block\n"
    "      --spin-us US       hybrid: spin this long before sleeping (default 50)\n"
    "      --capacity SIZE    ring bytes per direction, a power of two from 4K\n"
    "                         to 1G (default 1M); the largest message is half\n"
    "      --perm OCTAL       permission bits of the segment or socket file\n"
    "                         (default 0600; a segment: 0600, 0660, 0606 or 0666)\n"
    "      --checksum         check every message with XXH3\n"
    "      --peer-user USER   accept a client of USER (a name or uid; * for anyone)\n"
    "                         besides this user and root, where the transport\n"
    "                         tells who connects (unix, pipe, colo)\n"
    "      --global           shm:// in the machine-wide namespace (Windows:\n"
    "                         Global\\colo.NAME, which needs SeCreateGlobalPrivilege\n"
    "                         to create; POSIX has only one namespace)\n"
    "  -v, --verbose          report what happens on stderr\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 done, 1 failure (the message says why: peer died, corrupt\n"
    "segment, no space, permission denied, timed out), 2 usage error,\n"
    "130 interrupted (" TOS_STOPS_SHORT ").\n";

static const char send_help[] =
    "Usage: colo send ENDPOINT [options]\n"
    "\n"
    "Connects to the listener on ENDPOINT, retrying until it exists, and sends\n"
    "each line of stdin as one message (without its newline). Closes the\n"
    "channel at the end of input; the listener still reads every message sent.\n"
    "A line over the largest message (about half of colo recv --capacity) is\n"
    "an error, found without reading the rest of it.\n"
    "ENDPOINT may list alternatives, tried in order:\n"
    "  colo:///shared/orders.sock,tcp://10.0.0.5:7000\n"
    "\n"
    "Options:\n"
    "  -t, --timeout SECONDS  wait at most SECONDS for the listener to appear and\n"
    "                         for room for each message (default: 10 s for the\n"
    "                         listener, no limit for room)\n"
    "      --mode MODE        how to wait: hybrid (default), spin or block\n"
    "      --spin-us US       hybrid: spin this long before sleeping (default 50)\n"
    "      --peer-user USER   connect to an endpoint of USER (a name or uid; * for\n"
    "                         anyone), not only to this user's or root's\n"
    "      --global           shm:// in the machine-wide namespace (Windows:\n"
    "                         Global\\colo.NAME, which needs SeCreateGlobalPrivilege\n"
    "                         to create; POSIX has only one namespace)\n"
    "  -v, --verbose          report what happens on stderr\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 all lines sent, 1 failure (the message says why: a line\n"
    "too long, the listener closed the channel or died, timed out), 2 usage\n"
    "error, 130 interrupted (" TOS_STOPS_SHORT ").\n";

enum { OPT_MODE = 256, OPT_SPIN, OPT_CAPACITY, OPT_PERM, OPT_CHECKSUM, OPT_PEER_USER, OPT_GLOBAL };

/* Parses the options recv and send share; recv also takes the listener's.
 * Returns the index of ENDPOINT in argv, or -CLI_USAGE / -CLI_OK (help). */
static int parse_chan_opts(const char *cmd, int argc, char **argv, int listener, cli_chan_opts_t *c,
                           uint64_t *count) {
  static const struct option longopts[] = {
      {"count", required_argument, 0, 'n'},   {"timeout", required_argument, 0, 't'},
      {"mode", required_argument, 0, OPT_MODE}, {"spin-us", required_argument, 0, OPT_SPIN},
      {"capacity", required_argument, 0, OPT_CAPACITY}, {"perm", required_argument, 0, OPT_PERM},
      {"checksum", no_argument, 0, OPT_CHECKSUM}, {"verbose", no_argument, 0, 'v'},
      {"peer-user", required_argument, 0, OPT_PEER_USER}, {"global", no_argument, 0, OPT_GLOBAL},
      {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
  colo_opts_init(&c->opts);
  c->timeout_ms = -1;
  c->verbose = 0;
  optind = 1;
  opterr = 0;
  int o;
  uint64_t v;
  while ((o = getopt_long(argc, argv, "n:t:vh", longopts, NULL)) != -1) {
    if (!listener && (o == 'n' || o == OPT_CAPACITY || o == OPT_PERM || o == OPT_CHECKSUM))
      return -cli_usage(cmd, "option '%s' belongs to colo recv", argv[optind - 1]);
    switch (o) {
    case 'h': fputs(listener ? recv_help : send_help, stdout); return -CLI_OK;
    case 'v': c->verbose = 1; break;
    case 'n':
      if (cli_parse_uint(optarg, &v) || v == 0) return -cli_usage(cmd, "--count needs a positive number, not '%s'", optarg);
      *count = v;
      break;
    case 't':
      if (cli_parse_seconds(optarg, &c->timeout_ms))
        return -cli_usage(cmd, "--timeout needs seconds (such as 5 or 0.5), not '%s'", optarg);
      break;
    case OPT_MODE:
      if (cli_parse_wait_mode(optarg, &c->opts.wait_mode))
        return -cli_usage(cmd, "--mode is hybrid, spin or block, not '%s'", optarg);
      break;
    case OPT_SPIN:
      if (cli_parse_uint(optarg, &v) || v > 10000000) return -cli_usage(cmd, "--spin-us needs microseconds, not '%s'", optarg);
      c->opts.spin_us = (uint32_t)v;
      break;
    case OPT_CAPACITY:
      if (cli_parse_size(optarg, &v) || v > (1u << 30) || v < 4096 || (v & (v - 1)))
        return -cli_usage(cmd, "--capacity needs a power of two from 4K to 1G, not '%s'", optarg);
      c->opts.ring_capacity = (uint32_t)v;
      break;
    case OPT_PERM: {
      char *end;
      unsigned long p = strtoul(optarg, &end, 8);
      if (!optarg[0] || *end || p > 07777) return -cli_usage(cmd, "--perm needs octal permission bits such as 0660, not '%s'", optarg);
      c->opts.perm = (uint32_t)p;
      break;
    }
    case OPT_CHECKSUM: c->opts.msg_checksum = 1; break;
    case OPT_PEER_USER: c->opts.peer_user = optarg; break; /* checked by the library */
    case OPT_GLOBAL: c->opts.shm_global = 1; break;
    case ':': return -cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
    default: return -cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc) return -cli_usage(cmd, "missing ENDPOINT (such as shm://demo)");
  if (optind + 1 < argc) return -cli_usage(cmd, "unexpected argument '%s'", argv[optind + 1]);
  return optind;
}

/* ---- recv ----------------------------------------------------------------------- */

typedef struct recv_state {
  colo_listener_t *l;
  colo_chan_t *ch;
  char *buf;
  size_t cap, len;
} recv_state_t;

static int op_accept(void *p, int slice) {
  recv_state_t *s = p;
  return colo_accept(s->l, &s->ch, slice);
}

static int op_recv(void *p, int slice) {
  recv_state_t *s = p;
  return colo_recv(s->ch, s->buf, s->cap, &s->len, slice);
}

int cmd_recv(int argc, char **argv) {
  cli_chan_opts_t c;
  uint64_t count = 0;
  int at = parse_chan_opts("recv", argc, argv, 1, &c, &count);
  if (at <= 0) return -at;
  const char *ep = argv[at];
  recv_state_t s = {0};
  cli_catch_stop();
  tos_stdio_binary(); /* the messages' bytes as they are, no CRLF */
  int rc = colo_listen(&s.l, ep, &c.opts);
  if (rc) return cli_fail("recv", rc);
  /* A tcp port 0 is only known now: say it even without -v. */
  if (c.verbose || strcmp(ep, colo_listener_endpoint(s.l)) != 0)
    fprintf(stderr, "colo recv: listening on %s\n", colo_listener_endpoint(s.l));
  int status = CLI_OK;
  rc = cli_wait_sliced(op_accept, &s, c.timeout_ms);
  if (rc) {
    status = rc == COLO_ETIMEDOUT ? cli_fail_timeout("recv", "no peer connected", c.timeout_ms) : cli_fail("recv", rc);
    goto out_listener;
  }
  if (c.verbose) cli_report_channel("recv", "peer connected", s.ch);
  /* What this side accepts, from its own options: colo_max_message() is what
   * it may send, which a stream's peer chose. */
  s.cap = c.opts.ring_capacity / 2 - 8;
  s.buf = malloc(s.cap ? s.cap : 1);
  if (!s.buf) {
    fprintf(stderr, "colo recv: out of memory\n");
    status = CLI_FAIL;
    goto out_chan;
  }
  uint64_t n = 0;
  int out_err = 0; /* errno of a write to stdout that failed */
  /* A stop is looked at before every message, not only when idle: a sender
   * that never pauses must not make Ctrl-C wait. */
  while ((count == 0 || n < count) && !cli_stop) {
    rc = colo_recv(s.ch, s.buf, s.cap, &s.len, COLO_NOWAIT);
    if (rc == COLO_EAGAIN) {
      /* Nothing waiting: hand what we printed to the reader before sleeping. */
      if (fflush(stdout) != 0) {
        out_err = tos_stdout_errno();
        break;
      }
      rc = cli_wait_sliced(op_recv, &s, c.timeout_ms);
    }
    if (rc == COLO_ENOBUFS) {
      /* A message larger than this side sends (a stream's peer chose its
       * own maximum): room for it, and again. */
      char *nb = realloc(s.buf, s.len);
      if (!nb) {
        fprintf(stderr, "colo recv: out of memory for a %zu-byte message\n", s.len);
        status = CLI_FAIL;
        break;
      }
      s.buf = nb, s.cap = s.len;
      continue;
    }
    if (rc == COLO_ECLOSED) {
      if (c.verbose) fprintf(stderr, "colo recv: the peer closed the channel after %llu message%s\n", (unsigned long long)n, n == 1 ? "" : "s");
      break;
    }
    if (rc) {
      if (!cli_stop)
        status = rc == COLO_ETIMEDOUT ? cli_fail_timeout("recv", "no message arrived", c.timeout_ms) : cli_fail("recv", rc);
      break;
    }
    if (fwrite(s.buf, 1, s.len, stdout) != s.len || putchar('\n') == EOF) {
      out_err = tos_stdout_errno();
      break;
    }
    n++;
  }
  /* What was received is printed, also on the way out of a stop. */
  if (!out_err && fflush(stdout) != 0) out_err = tos_stdout_errno();
  if (cli_stop) {
    /* A write blocked on a full stdout ends with EINTR (Windows: it is
     * cancelled): part of the stop. */
    fprintf(stderr, "colo recv: interrupted after %llu message%s\n", (unsigned long long)n, n == 1 ? "" : "s");
    status = CLI_INTERRUPTED;
  } else if (out_err == EPIPE) {
    /* colo recv | head -1: whoever reads our output has all it wants. A clean
     * end: the channel is closed (the peer is told so) and removed. */
    if (c.verbose) fprintf(stderr, "colo recv: stdout was closed after %llu message%s\n", (unsigned long long)n, n == 1 ? "" : "s");
  } else if (out_err) {
    fprintf(stderr, "colo recv: cannot write to stdout: %s\n", strerror(out_err));
    status = CLI_FAIL;
  }
out_chan:
  free(s.buf);
  colo_close(s.ch);
out_listener:
  colo_listener_close(s.l);
  return status;
}

/* ---- send ----------------------------------------------------------------------- */

typedef struct send_state {
  const char *ep;
  colo_opts_t *opts;
  colo_chan_t *ch;
  const char *msg;
  size_t len;
  int partial; /* part of the line went out in an earlier slice (COLO_EINPROGRESS) */
  int answered; /* a slice of the connect reached a listener that never did the handshake */
} send_state_t;

static int op_connect(void *p, int slice) {
  send_state_t *s = p;
  int rc = colo_connect(&s->ch, s->ep, s->opts, slice);
  /* A later slice may fail earlier on (that listener's one pipe instance
   * is still taken by our last try): the furthest any slice got is what
   * to report. */
  if (rc == COLO_ETIMEDOUT && strstr(colo_last_error(), "handshake")) s->answered = 1;
  return rc;
}

/* One slice of sending a line. A stream may take part of it before the
 * slice ends (COLO_EINPROGRESS): the rest then goes out first, in the next
 * slices, and the line counts as sent once it has. */
static int op_send(void *p, int slice) {
  send_state_t *s = p;
  int rc;
  if (s->partial) {
    if ((rc = colo_flush(s->ch, slice)) == 0) s->partial = 0;
    return rc;
  }
  rc = colo_send(s->ch, s->msg, s->len, slice);
  if (rc != COLO_EINPROGRESS) return rc;
  s->partial = 1;
  return slice ? COLO_ETIMEDOUT : COLO_EAGAIN;
}

static int op_flush(void *p, int slice) {
  send_state_t *s = p;
  return colo_flush(s->ch, slice);
}

enum { LINE_EOF = -1, LINE_TOO_LONG = -2, LINE_NOMEM = -3, LINE_ERROR = -4 };

/* stdin through tos_stdin_read(), which a stop interrupts on every platform
 * (a blocked read of the C runtime's stdin does not end on Windows). */
typedef struct in_buf {
  unsigned char b[65536];
  size_t pos, len;
  int eof; /* the end of input was read: it stays the end */
} in_buf_t;

/* The next byte, EOF at the end of input, or LINE_ERROR (*err: errno). */
static int in_getc(in_buf_t *in, int *err) {
  if (in->pos == in->len) {
    if (in->eof) return EOF;
    long n = tos_stdin_read(in->b, sizeof in->b);
    if (n < 0) {
      *err = errno;
      return LINE_ERROR;
    }
    if (n == 0) {
      in->eof = 1;
      return EOF;
    }
    in->pos = 0, in->len = (size_t)n;
  }
  return in->b[in->pos++];
}

/* Reads one line of at most max bytes into *buf (grown as needed, never past
 * max bytes): returns its length without the newline. A longer line is read
 * no further than its first max + 1 bytes (LINE_TOO_LONG), so the memory used
 * is bounded by the largest message whatever stdin holds. LINE_EOF at the end
 * of input; LINE_ERROR when the read failed (*err: errno; EINTR after a stop
 * signal); LINE_NOMEM. */
static long read_line(in_buf_t *in, size_t max, char **buf, size_t *cap, int *err) {
  size_t len = 0;
  for (;;) {
    int c = in_getc(in, err);
    if (c == EOF) return len ? (long)len : LINE_EOF;
    if (c == LINE_ERROR) {
      if (*err != EINTR || cli_stop) return LINE_ERROR;
      continue; /* a signal that is not a stop: read on */
    }
    if (c == '\n') return (long)len;
    if (len == max) return LINE_TOO_LONG;
    if (len == *cap) {
      size_t ncap = *cap ? *cap * 2 : 4096;
      if (ncap > max) ncap = max;
      char *nb = realloc(*buf, ncap);
      if (!nb) return LINE_NOMEM;
      *buf = nb, *cap = ncap;
    }
    (*buf)[len++] = (char)c;
  }
}

int cmd_send(int argc, char **argv) {
  cli_chan_opts_t c;
  uint64_t unused = 0;
  int at = parse_chan_opts("send", argc, argv, 0, &c, &unused);
  if (at <= 0) return -at;
  send_state_t s = {.ep = argv[at], .opts = &c.opts};
  cli_catch_stop();
  tos_stdio_binary();
  int connect_ms = c.timeout_ms >= 0 ? c.timeout_ms : CONNECT_TIMEOUT_DEFAULT_MS;
  int rc = cli_wait_sliced(op_connect, &s, connect_ms);
  /* (The library says which: no listener, one too busy, one that never answered.) */
  if (rc == COLO_ETIMEDOUT && s.answered && !cli_stop) {
    char what[600];
    snprintf(what, sizeof what, "%.400s: a listener took the connection but did not answer colo's handshake (not a "
             "colo listener, or one not in colo_accept)", s.ep);
    return cli_fail_timeout("send", what, connect_ms);
  }
  if (rc) return cli_fail_sliced("send", rc, connect_ms);
  if (c.verbose) cli_report_channel("send", "connected", s.ch);
  size_t max = colo_max_message(s.ch);
  char *line = NULL;
  size_t cap = 0;
  uint64_t n = 0;
  int status = CLI_OK, err = 0;
  long len;
  static in_buf_t in; /* 64 KiB: not on the stack */
  while ((len = read_line(&in, max, &line, &cap, &err)) >= 0) {
    s.msg = line ? line : "", s.len = (size_t)len;
    rc = cli_wait_sliced(op_send, &s, c.timeout_ms);
    if (rc) break;
    n++;
  }
  /* A stop first: it ends a wait as a timeout, and a read with EINTR. */
  if (cli_stop) {
    status = CLI_INTERRUPTED;
  } else if (len >= 0) {
    if (rc == COLO_ETIMEDOUT)
      status = cli_fail_timeout("send", s.partial ? "the rest of a line that went out in part (the line is cut short)"
                                                  : "no room for the next message (it was not sent)",
                                c.timeout_ms);
    else status = cli_fail("send", rc);
    if (rc == COLO_ECLOSED) fprintf(stderr, "colo send: %llu messages were sent before that\n", (unsigned long long)n);
  } else if (len == LINE_TOO_LONG) {
    fprintf(stderr, "colo send: line %llu is over the largest message (%zu bytes); colo recv --capacity raises it\n",
            (unsigned long long)n + 1, max);
    status = CLI_FAIL;
  } else if (len == LINE_NOMEM) {
    fprintf(stderr, "colo send: out of memory reading line %llu\n", (unsigned long long)n + 1);
    status = CLI_FAIL;
  } else if (len == LINE_ERROR) {
    fprintf(stderr, "colo send: cannot read stdin: %s\n", strerror(err));
    status = CLI_FAIL;
  } else if ((rc = cli_wait_sliced(op_flush, &s, c.timeout_ms)) != 0) {
    /* A socket transport may still hold the tail of the last line. */
    if (cli_stop) status = CLI_INTERRUPTED;
    else if (rc == COLO_ETIMEDOUT) status = cli_fail_timeout("send", "the last messages did not go out", c.timeout_ms);
    else status = cli_fail("send", rc);
  }
  if (status == CLI_INTERRUPTED) {
    fprintf(stderr, "colo send: interrupted after %llu message%s\n", (unsigned long long)n, n == 1 ? "" : "s");
  }
  if (c.verbose && status == CLI_OK) fprintf(stderr, "colo send: sent %llu message%s\n", (unsigned long long)n, n == 1 ? "" : "s");
  free(line);
  colo_close(s.ch);
  return status;
}
