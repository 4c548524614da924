/*
 * frame.h - the stream protocol's wire format (docs/protocol.md) as pure
 * functions: no I/O, no allocation, no state. stream.c uses them on its
 * buffers; the fuzz target (tests/fuzz) drives them with arbitrary bytes.
 */
#ifndef COLO_RUNTIME_FRAME_H
#define COLO_RUNTIME_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define COLO__HELLO_SIZE 16u
#define COLO__FRAME_HDR 4u
#define COLO__FRAME_CONTROL 0x80000000u
#define COLO__CTRL_BYE 1u
#define COLO__MAX_FRAME_LIMIT (1u << 29) /* no peer may announce more */

/* Writes a HELLO announcing max_frame. */
void colo__hello_write(uint8_t h[COLO__HELLO_SIZE], uint32_t max_frame);
/* Checks a HELLO: 0 with *peer_max set; COLO_EPROTO (not colo, or an absurd
 * maximum) or COLO_EVERSION (another major), with the detail recorded. */
int colo__hello_parse(const uint8_t h[COLO__HELLO_SIZE], uint32_t *peer_max);

typedef enum colo__frame_kind {
  COLO__FRAME_NEED = 0, /* more bytes needed; *len is the payload length once the header is in */
  COLO__FRAME_DATA = 1, /* a whole data frame: *len payload bytes follow the header */
  COLO__FRAME_BYE = 2,  /* the peer's clean close (a 4-byte control frame) */
  COLO__FRAME_BAD = 3   /* a protocol error; *why says which */
} colo__frame_kind_t;

/* Looks at have bytes at a frame boundary, for a receiver accepting payloads
 * of at most max bytes. Never reads past p + have. */
colo__frame_kind_t colo__frame_parse(const uint8_t *p, size_t have, uint32_t max, uint32_t *len, const char **why);

static inline void colo__put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t colo__get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
