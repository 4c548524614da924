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
#define COLO__CTRL_ACK 2u  /* 1.1: the connector's last handshake step, after the listener's HELLO */
#define COLO__HELLO_MINOR 1u /* this library speaks 1.1 */
#define COLO__MAX_FRAME_LIMIT (1u << 29) /* no peer may announce more */

/* Writes a HELLO (version 1.1) announcing max_frame. */
void colo__hello_write(uint8_t h[COLO__HELLO_SIZE], uint32_t max_frame);
/* Checks a HELLO: 0 with *peer_max and *minor set; COLO_EPROTO (not colo,
 * or an absurd maximum) or COLO_EVERSION (another major), with the detail
 * recorded. */
int colo__hello_parse(const uint8_t h[COLO__HELLO_SIZE], uint32_t *peer_max, unsigned *minor);

typedef enum colo__frame_kind {
  COLO__FRAME_NEED = 0, /* more bytes needed; *len is the payload length once the header is in */
  COLO__FRAME_DATA = 1, /* a whole data frame: *len payload bytes follow the header */
  COLO__FRAME_BYE = 2,  /* the peer's clean close (a 4-byte control frame) */
  COLO__FRAME_BAD = 3   /* a protocol error; *why says which */
} colo__frame_kind_t;

/* Looks at have bytes at a frame boundary, for a receiver accepting payloads
 * of at most max bytes. Never reads past p + have. */
colo__frame_kind_t colo__frame_parse(const uint8_t *p, size_t have, uint32_t max, uint32_t *len, const char **why);

/*
 * Rendezvous records (colo://): a 4-byte header, u16 type and u16 body
 * length, then the body (at most COLO__RDV_MAX_BODY bytes).
 */
#define COLO__RDV_HDR 4u
#define COLO__RDV_MAX_BODY 512u
#define COLO__RDV_NONCE 16u
#define COLO__RDV_TEXT_MAX 400u
enum { COLO__RDV_REQ = 1, COLO__RDV_OFFER = 2, COLO__RDV_SKIP = 3, COLO__RDV_ECHOED = 4, COLO__RDV_DONE = 5 };
enum { COLO__RUNG_MEMFD = 1, COLO__RUNG_SHM = 2, COLO__RUNG_SOCKET = 3, COLO__RUNG_COUNT = 3 };
#define COLO__RDV_F_RUNG(r) (1u << ((r) - 1)) /* REQ flags: the rungs the client will try */
#define COLO__RDV_F_PROBE 0x100u              /* REQ flags: handshake only */

typedef struct colo__rdv_rec {
  unsigned type;
  unsigned rung;                     /* OFFER, ECHOED, DONE: 1-3; SKIP: 0-3 (0: none left) */
  uint32_t flags;                    /* REQ */
  uint32_t max_rx;                   /* REQ, OFFER: the largest message the sender accepts */
  uint8_t nonce[COLO__RDV_NONCE];    /* OFFER, ECHOED */
  char text[COLO__RDV_TEXT_MAX + 1]; /* OFFER rung 2: the segment's name; SKIP: why. Printable ASCII */
} colo__rdv_rec_t;

/* Writes r (text cut at COLO__RDV_TEXT_MAX) into buf; returns its length. */
size_t colo__rdv_write(uint8_t buf[COLO__RDV_HDR + COLO__RDV_MAX_BODY], const colo__rdv_rec_t *r);
/* Checks a header: 0 with *body_len set, or COLO_EPROTO. */
int colo__rdv_header(const uint8_t h[COLO__RDV_HDR], size_t *body_len);
/* Checks a whole record of len bytes and fills *out: 0, COLO_EPROTO or
 * COLO_EVERSION (a REQ of another major). Text is made printable. */
int colo__rdv_parse(const uint8_t *rec, size_t len, colo__rdv_rec_t *out);

static inline void colo__put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t colo__get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
