/*
 * frame.c - see frame.h.
 */
#include "frame.h"

#include <string.h>

#include "internal.h"
#include "ring.h"

#define MAGIC "colo-str"

static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* A peer's announced maximum message, from a HELLO or a rendezvous record: no colo
 * peer announces less than a ring of the smallest capacity carries, nor more than
 * the frame limit. A tiny maximum would turn every send into a baffling EMSGSIZE. */
static int check_peer_max(uint32_t max) {
  uint32_t least = colo__ring_max_msg(COLO__SEG_MIN_CAPACITY);
  if (max > COLO__MAX_FRAME_LIMIT)
    return colo__err(COLO_EPROTO, "the peer announced a %u-byte maximum message (the limit is %u)", max,
                     COLO__MAX_FRAME_LIMIT);
  if (max < least)
    return colo__err(COLO_EPROTO, "the peer announced a %u-byte maximum message (the least a colo peer announces is %u)",
                     max, least);
  return 0;
}

void colo__hello_write(uint8_t h[COLO__HELLO_SIZE], uint32_t max_frame) {
  memcpy(h, MAGIC, 8);
  h[8] = 1, h[9] = 0;   /* major 1 */
  h[10] = (uint8_t)COLO__HELLO_MINOR, h[11] = 0;
  colo__put_u32(h + 12, max_frame);
}

int colo__hello_parse(const uint8_t h[COLO__HELLO_SIZE], uint32_t *peer_max, unsigned *minor) {
  if (memcmp(h, MAGIC, 8) != 0) return colo__err(COLO_EPROTO, "the peer does not speak colo (bad handshake magic)");
  if (get_u16(h + 8) != 1)
    return colo__err(COLO_EVERSION, "the peer speaks stream protocol %u.%u; this library speaks 1.x", get_u16(h + 8),
                     get_u16(h + 10));
  uint32_t max = colo__get_u32(h + 12);
  int rc = check_peer_max(max);
  if (rc) return rc;
  *peer_max = max;
  *minor = get_u16(h + 10);
  return 0;
}

colo__frame_kind_t colo__frame_parse(const uint8_t *p, size_t have, uint32_t max, uint32_t *len, const char **why) {
  *len = 0;
  if (have < COLO__FRAME_HDR) return COLO__FRAME_NEED;
  uint32_t h = colo__get_u32(p);
  if (h & COLO__FRAME_CONTROL) {
    if ((h & ~COLO__FRAME_CONTROL) == COLO__CTRL_BYE) return COLO__FRAME_BYE;
    *why = "unknown control frame";
    *len = h & ~COLO__FRAME_CONTROL;
    return COLO__FRAME_BAD;
  }
  *len = h;
  if (h > max) {
    *why = "frame exceeds the agreed maximum";
    return COLO__FRAME_BAD;
  }
  return have - COLO__FRAME_HDR >= h ? COLO__FRAME_DATA : COLO__FRAME_NEED;
}

/* ---- rendezvous records ------------------------------------------------------------ */

#define RDV_MAGIC "colo-rdv"
#define RDV_REQ_BODY 20u
#define RDV_FIXED 4u /* rung, three zero bytes */

static void put_u16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }

size_t colo__rdv_write(uint8_t buf[COLO__RDV_HDR + COLO__RDV_MAX_BODY], const colo__rdv_rec_t *r) {
  uint8_t *b = buf + COLO__RDV_HDR;
  size_t n = 0;
  if (r->type == COLO__RDV_REQ) {
    memcpy(b, RDV_MAGIC, 8);
    put_u16(b + 8, 1), put_u16(b + 10, 0);
    colo__put_u32(b + 12, r->flags);
    colo__put_u32(b + 16, r->max_rx);
    n = RDV_REQ_BODY;
  } else {
    memset(b, 0, RDV_FIXED);
    b[0] = (uint8_t)r->rung;
    n = RDV_FIXED;
    if (r->type == COLO__RDV_OFFER || r->type == COLO__RDV_ECHOED) {
      memcpy(b + n, r->nonce, COLO__RDV_NONCE);
      n += COLO__RDV_NONCE;
    }
    if (r->type == COLO__RDV_OFFER) {
      colo__put_u32(b + n, r->max_rx);
      n += 4;
    }
    if (r->type == COLO__RDV_OFFER || r->type == COLO__RDV_SKIP) {
      size_t t = 0;
      while (t < COLO__RDV_TEXT_MAX && r->text[t]) t++;
      memcpy(b + n, r->text, t);
      n += t;
    }
  }
  put_u16(buf, r->type);
  put_u16(buf + 2, (unsigned)n);
  return COLO__RDV_HDR + n;
}

int colo__rdv_header(const uint8_t h[COLO__RDV_HDR], size_t *body_len) {
  unsigned type = get_u16(h), n = get_u16(h + 2);
  if (type < COLO__RDV_REQ || type > COLO__RDV_DONE)
    return colo__err(COLO_EPROTO, "the peer does not speak colo's rendezvous protocol (record type %u)", type);
  if (n > COLO__RDV_MAX_BODY)
    return colo__err(COLO_EPROTO, "a %u-byte rendezvous record (the limit is %u)", n, COLO__RDV_MAX_BODY);
  *body_len = n;
  return 0;
}

int colo__rdv_parse(const uint8_t *rec, size_t len, colo__rdv_rec_t *out) {
  size_t n;
  memset(out, 0, sizeof *out);
  if (len < COLO__RDV_HDR) return colo__err(COLO_EPROTO, "a truncated rendezvous record");
  int rc = colo__rdv_header(rec, &n);
  if (rc) return rc;
  if (len != COLO__RDV_HDR + n) return colo__err(COLO_EPROTO, "a truncated rendezvous record");
  const uint8_t *b = rec + COLO__RDV_HDR;
  out->type = get_u16(rec);
  if (out->type == COLO__RDV_REQ) {
    if (n != RDV_REQ_BODY || memcmp(b, RDV_MAGIC, 8) != 0)
      return colo__err(COLO_EPROTO, "the peer does not speak colo's rendezvous protocol (bad request)");
    if (get_u16(b + 8) != 1)
      return colo__err(COLO_EVERSION, "the peer speaks rendezvous protocol %u.%u; this library speaks 1.x",
                       get_u16(b + 8), get_u16(b + 10));
    out->flags = colo__get_u32(b + 12);
    out->max_rx = colo__get_u32(b + 16);
  } else {
    size_t fixed = RDV_FIXED + (out->type == COLO__RDV_OFFER || out->type == COLO__RDV_ECHOED ? COLO__RDV_NONCE : 0) +
                   (out->type == COLO__RDV_OFFER ? 4 : 0);
    int has_text = out->type == COLO__RDV_OFFER || out->type == COLO__RDV_SKIP;
    if (n < fixed || (!has_text && n != fixed) || n - fixed > COLO__RDV_TEXT_MAX || b[1] || b[2] || b[3])
      return colo__err(COLO_EPROTO, "a malformed rendezvous record (type %u, %zu bytes)", out->type, n);
    out->rung = b[0];
    if (out->rung > COLO__RUNG_COUNT || (out->rung == 0 && out->type != COLO__RDV_SKIP))
      return colo__err(COLO_EPROTO, "a rendezvous record names rung %u", out->rung);
    if (fixed > RDV_FIXED) memcpy(out->nonce, b + RDV_FIXED, COLO__RDV_NONCE);
    if (out->type == COLO__RDV_OFFER) out->max_rx = colo__get_u32(b + RDV_FIXED + COLO__RDV_NONCE);
    for (size_t i = 0; i < n - fixed; i++) {
      uint8_t c = b[fixed + i];
      out->text[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out->text[n - fixed] = '\0';
  }
  if (out->type == COLO__RDV_REQ || out->type == COLO__RDV_OFFER) return check_peer_max(out->max_rx);
  return 0;
}
