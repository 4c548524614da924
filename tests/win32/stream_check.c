/*
 * stream_check.c - a manual two-process check of the Windows stream shim
 * (pipe://, tcp://, unix://) through the public API, for Wine or Windows
 * until the test suite runs there. Not built by CMake:
 *
 *   x86_64-w64-mingw32-gcc -O1 -Wall -Wextra -Iinclude -o stream_check.exe tests/win32/stream_check.c \
 *       build/win/libcolo.a -lws2_32 -ladvapi32 -lbcrypt -static
 *
 *   stream_check server EP N     accept N clients; check every message (sequence, length, FNV-1a of the
 *                                payload) and answer each with its sequence number (ECHO=1: with the
 *                                whole message); print one line a client with how it ended
 *   stream_check client EP M SEED [hold]
 *                                a thread sends M messages of random sizes (up to 200000 bytes) while the
 *                                main thread reads the answers; "hold": then sleep, to be killed
 *   stream_check spew EP         send for ever (to be killed mid-stream)
 *   stream_check squat NAME [MS] create \\.\pipe\colo.NAME as a squatter would: a listen on
 *                                pipe://NAME must then fail with COLO_EEXIST
 *
 * Every line the server prints must say bad=0; a client killed with SIGKILL (Wine) or TerminateProcess
 * must be seen at once, after every message it committed, as COLO_EPEERDEAD (COLO_EPROTO when it died
 * inside a frame).
 */
#define COLO_STATIC
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "colo.h"

static uint64_t now_ms(void) { return GetTickCount64(); }
static uint64_t fnv(const unsigned char *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}
static uint64_t rng(uint64_t *s) { *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17; return *s; }
#define MAXMSG 200000
static void die(const char *what, int rc) {
  printf("FAIL %s: %s (%s)\n", what, colo_errname(rc), colo_last_error());
  fflush(stdout);
  exit(1);
}

/* ---- server: accept n clients, verify each message, ack each with its seq ---- */
typedef struct { colo_chan_t *ch; int id; } cli_t;
static DWORD WINAPI serve(void *arg) {
  cli_t *c = arg;
  unsigned char *buf = malloc(MAXMSG + 64);
  uint32_t expect = 0; uint64_t bytes = 0; int bad = 0, rc;
  for (;;) {
    size_t len;
    rc = colo_recv(c->ch, buf, MAXMSG + 64, &len, 60000);
    if (rc) break;
    uint32_t seq, l; uint64_t h;
    memcpy(&seq, buf, 4); memcpy(&l, buf + 4, 4); memcpy(&h, buf + 8, 8);
    if (seq != expect || l != len || fnv(buf + 16, len - 16) != h) bad++;
    expect = seq + 1; bytes += len;
    rc = getenv("ECHO") ? colo_send(c->ch, buf, len, 60000) : colo_send(c->ch, &seq, 4, 60000);
    if (rc && rc != COLO_ECLOSED && rc != COLO_EPEERDEAD) { printf("client %d: ack send %s\n", c->id, colo_errname(rc)); }
  }
  printf("client %d: msgs=%u bytes=%llu bad=%d end=%s (%s)\n", c->id, expect, (unsigned long long)bytes, bad,
         colo_errname(rc), colo_last_error());
  fflush(stdout);
  colo_close(c->ch);
  free(buf);
  return 0;
}

static int server(const char *ep, int n) {
  colo_opts_t o; colo_opts_init(&o);
  colo_listener_t *l;
  int rc = colo_listen(&l, ep, &o);
  if (rc) die("listen", rc);
  printf("READY %s\n", colo_listener_endpoint(l)); fflush(stdout);
  HANDLE th[64]; cli_t cs[64];
  for (int i = 0; i < n; i++) {
    rc = colo_accept(l, &cs[i].ch, 60000);
    if (rc) die("accept", rc);
    cs[i].id = i;
    th[i] = CreateThread(NULL, 0, serve, &cs[i], 0, NULL);
  }
  WaitForMultipleObjects(n, th, TRUE, INFINITE);
  colo_listener_close(l);
  printf("SERVER DONE\n");
  return 0;
}

/* ---- client: a sender thread streams m random messages; main reads acks ---- */
typedef struct { colo_chan_t *ch; int m; uint64_t seed; int hold; } snd_t;
static DWORD WINAPI sender(void *arg) {
  snd_t *s = arg;
  unsigned char *buf = malloc(MAXMSG + 64);
  uint64_t r = s->seed;
  for (int i = 0; i < s->m; i++) {
    uint32_t len = 16 + (uint32_t)(rng(&r) % (rng(&r) % 8 == 0 ? MAXMSG : 2000));
    for (uint32_t k = 16; k < len; k++) buf[k] = (unsigned char)rng(&r);
    uint32_t seq = (uint32_t)i; uint64_t h = fnv(buf + 16, len - 16);
    memcpy(buf, &seq, 4); memcpy(buf + 4, &len, 4); memcpy(buf + 8, &h, 8);
    int rc = colo_send(s->ch, buf, len, 60000);
    if (rc) die("send", rc);
  }
  free(buf);
  return 0;
}
static int client(const char *ep, int m, uint64_t seed, int hold) {
  colo_opts_t o; colo_opts_init(&o);
  colo_chan_t *ch;
  uint64_t t0 = now_ms();
  int rc = colo_connect(&ch, ep, &o, 10000);
  if (rc) die("connect", rc);
  snd_t s = {ch, m, seed | 1, hold};
  HANDLE th = CreateThread(NULL, 0, sender, &s, 0, NULL);
  uint32_t got = 0;
  unsigned char *eb = malloc(MAXMSG + 64);
  while ((int)got < m) {
    uint32_t seq; size_t len;
    rc = colo_recv(ch, eb, MAXMSG + 64, &len, 60000);
    if (rc) die("recv ack", rc);
    memcpy(&seq, eb, 4);
    if (len > 4) { uint32_t l; uint64_t h; memcpy(&l, eb + 4, 4); memcpy(&h, eb + 8, 8);
      if (l != len || fnv(eb + 16, len - 16) != h) { printf("FAIL echo %u corrupt\n", seq); return 1; } }
    if (seq != got) { printf("FAIL ack %u != %u\n", seq, got); return 1; }
    got++;
  }
  WaitForSingleObject(th, INFINITE);
  printf("CLIENT OK msgs=%d acks=%u in %llu ms\n", m, got, (unsigned long long)(now_ms() - t0));
  fflush(stdout);
  if (hold) { printf("HOLDING\n"); fflush(stdout); Sleep(INFINITE); }
  colo_close(ch);
  return 0;
}

/* ---- spew: send forever without reading acks; killed from outside ---- */
static int spew(const char *ep) {
  colo_opts_t o; colo_opts_init(&o);
  colo_chan_t *ch;
  int rc = colo_connect(&ch, ep, &o, 10000);
  if (rc) die("connect", rc);
  snd_t s = {ch, 1 << 30, 7, 0};
  printf("SPEWING\n"); fflush(stdout);
  sender(&s);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc >= 4 && !strcmp(argv[1], "server")) return server(argv[2], atoi(argv[3]));
  if (argc >= 5 && !strcmp(argv[1], "client")) return client(argv[2], atoi(argv[3]), strtoull(argv[4], 0, 10), argc > 5);
  if (argc >= 3 && !strcmp(argv[1], "spew")) return spew(argv[2]);
  if (argc >= 3 && !strcmp(argv[1], "squat")) {
    char name[300]; snprintf(name, sizeof name, "\\\\.\\pipe\\colo.%s", argv[2]);
    HANDLE h = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, NULL);
    printf(h == INVALID_HANDLE_VALUE ? "SQUAT FAILED %lu\n" : "SQUATTING\n", GetLastError());
    Sleep(atoi(argc > 3 ? argv[3] : "5000"));
    return 0;
  }
  printf("usage\n");
  return 2;
}
