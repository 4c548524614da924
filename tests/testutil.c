/*
 * testutil.c - the portable half of testutil.h: endpoint paths, scaled
 * timeouts, the blocked call, the message pattern. No OS header; what needs
 * the OS is in testutil_posix.c or testutil_win32.c.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

const char *tu_endpoint(char *buf, size_t cap, const char *tag) {
  static unsigned n;
  snprintf(buf, cap, "shm://t.%d.%u.%s", tu_pid(), n++, tag);
  return buf;
}

const char *tu_shm_name(char *buf, size_t cap, const char *tag) {
  static unsigned n;
  snprintf(buf, cap, "t.%d.os%u.%s", tu_pid(), n++, tag);
  return buf;
}

/* "C:/..." or "C:\...": a path that starts with a drive letter. */
static int has_drive(const char *p) {
  return ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) && p[1] == ':';
}

const char *tu_file_endpoint(char *buf, size_t cap, const char *path) {
  snprintf(buf, cap, "file://%s%s", has_drive(path) ? "/" : "", path);
  return buf;
}

const char *tu_shm_path(const char *endpoint, char *buf, size_t cap) {
  if (!strncmp(endpoint, "file://", 7) || !strncmp(endpoint, "unix://", 7) || !strncmp(endpoint, "pipe://", 7) ||
      !strncmp(endpoint, "colo://", 7)) {
    snprintf(buf, cap, "%s", endpoint + 7); /* file:///C:/x is /C:/x, as the shim names it */
  } else if (!strncmp(endpoint, "tcp://", 6) || !tu_shm_path_of(endpoint + 6, buf, cap)) {
    snprintf(buf, cap, "%s", ""); /* nothing on disk */
  }
  return buf;
}


uint64_t tu_env_u64(const char *name, uint64_t dflt) {
  const char *v = getenv(name);
  return v && *v ? strtoull(v, NULL, 10) : dflt;
}


int tu_ms(int ms) {
  const char *v = getenv("COLO_TEST_TIMEOUT_SCALE");
  double s = v && *v ? atof(v) : 1.0;
  if (s < 1.0) s = 1.0;
  return (int)(ms * s);
}


int tu_leave_dead_listener(const char *ep) {
  tu_proc_t p;
  char line[64];
  const char *args[] = {"listen-die", ep, NULL};
  if (tu_spawn_helper(&p, args) != 0) return -1;
  if (tu_read_line(&p, line, sizeof line, tu_ms(5000)) != 0 || strcmp(line, "ready") != 0) {
    tu_wait(&p, 0);
    return -1;
  }
  return tu_wait(&p, tu_ms(5000)) == TU_KILLED ? 0 : -1;
}


static void *blocked_main(void *arg) {
  tu_blocked_t *b = arg;
  static _Thread_local uint8_t buf[4096];
  if (b->op == TU_RECV_ONE) {
    b->rc = colo_recv(b->ch, buf, sizeof buf, &b->n, COLO_FOREVER);
  } else if (b->op == TU_SEND_ONE) {
    b->rc = colo_send(b->ch, buf, 2040, COLO_FOREVER);
  } else {
    while ((b->rc = colo_send(b->ch, buf, 2040, COLO_FOREVER)) == 0) {
    }
  }
  b->done_ms = tu_now_ms();
  return NULL;
}

void tu_blocked_start(tu_blocked_t *b, colo_chan_t *ch, tu_block_op_t op) {
  memset(b, 0, sizeof *b);
  b->ch = ch;
  b->op = op;
  if (tu_thread_start(&b->thread, blocked_main, b) != 0) abort();
}

void tu_blocked_join(tu_blocked_t *b) { tu_thread_join(&b->thread); }


/* splitmix64 */
static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

#define POOL_BYTES (64 * 1024)
/* Per thread: threads of one test generate streams with different seeds. */
static _Thread_local uint8_t pool[POOL_BYTES + 8192];
static _Thread_local uint64_t pool_seed = ~0ull;

size_t tu_msg(uint64_t seed, uint64_t i, size_t maxlen, uint8_t *buf) {
  if (pool_seed != seed) {
    for (size_t k = 0; k < sizeof pool; k += 8) {
      uint64_t v = mix(seed ^ (k * 0x100000001b3ull));
      memcpy(pool + k, &v, 8);
    }
    pool_seed = seed;
  }
  uint64_t r = mix(seed + i * 0x9e3779b97f4a7c15ull);
  size_t len = (size_t)(r % (maxlen + 1));
  size_t off = (size_t)((r >> 32) % POOL_BYTES);
  if (len > sizeof pool - off) len = sizeof pool - off; /* maxlen <= 8 KiB */
  memcpy(buf, pool + off, len);
  if (len >= 8) memcpy(buf, &i, 8);
  return len;
}

uint64_t tu_xxh3(const void *p, size_t n) { return XXH3_64bits(p, n); }

const char *tu_mappable_endpoint(char *buf, size_t cap, const char *tag) {
  char name[128], path[600];
  if (tu_shm_path_of(tu_shm_name(name, sizeof name, tag), path, sizeof path)) return tu_endpoint(buf, cap, tag);
  return tu_file_endpoint(buf, cap, tu_tmp_path(path, sizeof path, tag));
}

int tu_segment_exists(const char *ep) {
  char path[600];
  if (!tu_shm_path(ep, path, sizeof path)[0]) {
    colo_seg_info_t info = {.struct_size = sizeof info};
    return colo_seg_inspect(ep, &info) != COLO_ENOENT;
  }
  /* stdio takes "/C:/x" (the URL form) as "C:/x". */
  int drive = ((path[1] >= 'A' && path[1] <= 'Z') || (path[1] >= 'a' && path[1] <= 'z')) && path[2] == ':';
  FILE *f = fopen(path[0] == '/' && drive ? path + 1 : path, "rb");
  if (f) {
    fclose(f);
    return 1;
  }
  /* Windows: a live segment's file is open for deletion, which stdio's share
   * mode does not allow; a mapping that shares everything gets in. */
  size_t n;
  void *m = tu_map_file(path, &n);
  if (m) tu_unmap(m, n);
  return m != NULL;
}
