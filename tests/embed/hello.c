/* The README's embedding example: one process plays both sides here; in real
 * use the listener and the connector are two processes. */
#include <colo.h>
#include <stdio.h>

int main(int argc, char **argv) {
  const char *ep = argc > 1 ? argv[1] : "shm://hello";
  colo_listener_t *l;
  colo_chan_t *srv, *cli;
  char buf[64];
  size_t n;
  int rc = colo_listen(&l, ep, NULL);                          /* creates /dev/shm/colo.hello */
  if (!rc) rc = colo_connect(&cli, ep, NULL, 1000);            /* the other process */
  if (!rc) rc = colo_accept(l, &srv, 1000);
  if (!rc) rc = colo_send(cli, "hello", 5, COLO_FOREVER);
  if (!rc) rc = colo_recv(srv, buf, sizeof buf, &n, 1000);
  if (rc) return fprintf(stderr, "colo: %s: %s\n", colo_strerror(rc), colo_last_error()), 1;
  printf("%.*s\n", (int)n, buf);
  colo_close(cli), colo_close(srv), colo_listener_close(l);
  return 0;
}
