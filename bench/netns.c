/*
 * netns.c - the tcp-netns row's two network namespaces joined by a veth
 * pair (iproute2's ip netns), made for the run and removed after it.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "tools/os.h"
#include "colo.h"
#include "driver.h"

/* Runs `ip ARGS...` quietly; its exit code, or COLO_ENOENT without iproute2. */
#define IP(...) tos_run((char *[]){"ip", __VA_ARGS__, NULL}, 0)

void bench_netns_down(bench_netns_t *n) {
  if (!n->up) return;
  IP("link", "del", n->veth[0]); /* only while not yet moved */
  IP("netns", "del", n->ns[0]);
  IP("netns", "del", n->ns[1]);
  n->up = 0;
}

int bench_netns_up(bench_netns_t *n, char *why, size_t cap) {
  if (!tos_is_admin()) {
    snprintf(why, cap, "needs root, to create network namespaces");
    return -1;
  }
  unsigned id = (unsigned)(tos_now_ns() % 1000000u);
  for (int s = 0; s < 2; s++) {
    snprintf(n->ns[s], sizeof n->ns[s], "colo-bench-%u-%c", id, 'a' + s);
    snprintf(n->veth[s], sizeof n->veth[s], "cb%u%c", id, 'a' + s);
  }
  n->up = 1;
  char *addr[2] = {NETNS_ADDR_B "/30", "10.203.0.2/30"};
  int rc = IP("netns", "add", n->ns[0]);
  if (rc == COLO_ENOENT) {
    n->up = 0;
    snprintf(why, cap, "needs the ip command (Debian package iproute2)");
    return -1;
  }
  if (!rc) rc = IP("netns", "add", n->ns[1]);
  if (!rc) rc = IP("link", "add", n->veth[0], "type", "veth", "peer", "name", n->veth[1]);
  for (int s = 0; s < 2 && !rc; s++) {
    rc = IP("link", "set", n->veth[s], "netns", n->ns[s]);
    if (!rc) rc = IP("-n", n->ns[s], "addr", "add", addr[s], "dev", n->veth[s]);
    if (!rc) rc = IP("-n", n->ns[s], "link", "set", n->veth[s], "up");
    if (!rc) rc = IP("-n", n->ns[s], "link", "set", "lo", "up");
  }
  if (rc) {
    bench_netns_down(n);
    snprintf(why, cap, "could not set up two network namespaces and a veth pair (ip exited with %d)", rc);
    return -1;
  }
  return 0;
}

