/*
 * internal.h - what the runtime's files share above the shim (colo__ prefix):
 * endpoint strings, deadlines, the connect retry policy, error context.
 */
#ifndef COLO_RUNTIME_INTERNAL_H
#define COLO_RUNTIME_INTERNAL_H

#include "base.h"

/* Parses an endpoint string (the scheme from the transport table, the path
 * checked by the shim). @return 0, COLO_EINVAL (malformed) or COLO_ENOTSUP (a
 * transport this version lacks), with detail. */
int colo__endpoint_parse(const char *s, colo__endpoint_t *ep);
/* Writes the canonical endpoint string. */
void colo__endpoint_format(const colo__endpoint_t *ep, char *buf, size_t cap);

/* Adds the endpoint to the detail of an error from below, once. */
int colo__with_endpoint(int rc, const char *endpoint);
/* The detail of the last failure without its "endpoint: " prefix (for a
 * reader that already knows the endpoint). */
const char *colo__err_detail(const char *endpoint);

/* ---- time (clock.c) ---------------------------------------------------------------- */

/* Milliseconds timeout to an absolute deadline on colo__os_now_ns(); UINT64_MAX
 * for COLO_FOREVER (any negative value). */
uint64_t colo__deadline(int timeout_ms);
/* Nanoseconds left until deadline: 0 once passed, UINT64_MAX for none. */
uint64_t colo__remaining_ns(uint64_t deadline);

/* The one retry policy of a connect (api.c's endpoint-list loop; transports
 * make one attempt each): between attempts it sleeps from
 * COLO__BACKOFF_FIRST_NS doubling to COLO__BACKOFF_MAX_NS, never past the
 * deadline. */
typedef struct colo__retry {
  uint64_t backoff_ns;
} colo__retry_t;
#define COLO__RETRY_INIT {COLO__BACKOFF_FIRST_NS}
void colo__retry_sleep(colo__retry_t *r, uint64_t deadline);

#endif
