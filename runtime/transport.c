/*
 * transport.c - the transport table, and how a channel was chosen
 * (colo_info's route). Each transport file exports its entry (chan.h); this
 * is the one place that lists them, in the order messages name them.
 */
#include <stdio.h>
#include <string.h>

#include "chan.h"

static const colo__transport_t *const table[] = {
    &colo__colo_transport, &colo__shm_transport,  &colo__file_transport, &colo__unix_transport,
    &colo__pipe_transport, &colo__tcp_transport,  &colo__memfd_transport,
};
#define TABLE_N (sizeof table / sizeof *table)

const colo__transport_t *colo__transport_of(colo__ep_kind_t kind) {
  for (size_t i = 0; i < TABLE_N; i++)
    if (table[i]->kind == kind) return table[i];
  return &colo__unix_transport; /* not reached for a parsed endpoint */
}

const colo__transport_t *colo__transport_by_scheme(const char *s, const char **rest) {
  for (size_t i = 0; i < TABLE_N; i++) {
    size_t n = strlen(table[i]->name);
    /* strncmp: s may be shorter than any scheme (it stops at s's end). */
    if (table[i]->kind && strncmp(s, table[i]->name, n) == 0 && strncmp(s + n, "://", 3) == 0) {
      *rest = s + n + 3;
      return table[i];
    }
  }
  return NULL;
}

const char *colo__transport_schemes(char *buf, size_t cap) {
  size_t n = 0, k = 0, count = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < TABLE_N; i++) count += table[i]->kind != 0;
  for (size_t i = 0; i < TABLE_N && n < cap; i++) {
    if (!table[i]->kind) continue;
    k++;
    n += (size_t)snprintf(buf + n, cap - n, "%s%s://", k == 1 ? "" : k == count ? " and " : ", ", table[i]->name);
  }
  return buf;
}

/* ---- how a channel was chosen ------------------------------------------------------ */

colo_info_t *colo__route(colo_info_t **route) {
  if (!*route && !(*route = colo__calloc(1, sizeof **route))) colo__err_nomem();
  return *route;
}

int colo__route_skip(colo_info_t **route, const char *what, const char *why) {
  colo_info_t *r = colo__route(route);
  if (!r) return COLO_ENOMEM;
  unsigned i = r->skipped_count < COLO_INFO_SKIPPED_MAX ? r->skipped_count++ : COLO_INFO_SKIPPED_MAX - 1;
  snprintf(r->skipped[i].what, sizeof r->skipped[i].what, "%s", what);
  snprintf(r->skipped[i].why, sizeof r->skipped[i].why, "%s", why);
  return 0;
}

const char *colo__route_join(const colo_info_t *route, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (unsigned i = 0; route && i < route->skipped_count && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%s: %s", i ? "; " : "", route->skipped[i].what, route->skipped[i].why);
  return buf;
}

void colo__route_merge(colo_info_t **dst, colo_info_t *src) {
  if (!src) return;
  if (!*dst) {
    *dst = src;
    return;
  }
  for (unsigned i = 0; i < src->skipped_count; i++)
    colo__route_skip(dst, src->skipped[i].what, src->skipped[i].why);
  (*dst)->rung = src->rung;
  memcpy((*dst)->how, src->how, sizeof src->how);
  colo__free(src);
}

void colo__transport_how(const colo__transport_t *t, const char *extra, char *buf, size_t cap) {
  /* The transport's words, then the system's for its object, then the
   * caller's (how a ring sleeps, what a listener does). */
  const char *os = t->kind ? colo__os_kind_how(t->kind) : "";
  snprintf(buf, cap, "%s%s%s%s%s", t->how, os[0] ? " (" : "", os, os[0] ? ")" : "", extra);
}

void colo__info_of(const colo_chan_t *ch, colo_info_t *out) {
  if (ch->route) *out = *ch->route;
  else memset(out, 0, sizeof *out);
  out->struct_size = sizeof *out;
  snprintf(out->transport, sizeof out->transport, "%s", ch->t->name);
  snprintf(out->endpoint, sizeof out->endpoint, "%s", ch->endpoint);
  if (!out->how[0]) {
    char extra[160] = "";
    if (ch->vt->describe) ch->vt->describe(ch, extra, sizeof extra);
    colo__transport_how(ch->t, extra, out->how, sizeof out->how);
  }
  out->max_message = ch->max_msg;
  out->ring_capacity = ch->ring_capacity;
}
