/*
 * frame.c - see frame.h.
 */
#include "frame.h"

#include <string.h>

#include "internal.h"

#define MAGIC "colo-str"

static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

void colo__hello_write(uint8_t h[COLO__HELLO_SIZE], uint32_t max_frame) {
  memcpy(h, MAGIC, 8);
  h[8] = 1, h[9] = 0;   /* major 1 */
  h[10] = 0, h[11] = 0; /* minor 0 */
  colo__put_u32(h + 12, max_frame);
}

int colo__hello_parse(const uint8_t h[COLO__HELLO_SIZE], uint32_t *peer_max) {
  if (memcmp(h, MAGIC, 8) != 0) return colo__err(COLO_EPROTO, "the peer does not speak colo (bad handshake magic)");
  if (get_u16(h + 8) != 1)
    return colo__err(COLO_EVERSION, "the peer speaks stream protocol %u.%u; this library speaks 1.x", get_u16(h + 8),
                     get_u16(h + 10));
  uint32_t max = colo__get_u32(h + 12);
  if (max > COLO__MAX_FRAME_LIMIT)
    return colo__err(COLO_EPROTO, "the peer announced a %u-byte maximum message (the limit is %u)", max,
                     COLO__MAX_FRAME_LIMIT);
  *peer_max = max;
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
