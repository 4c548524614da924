/*
 * layout.h - the shared-memory segment format, version 1.0.
 *
 * This mirrors docs/layout.md, which is the specification. The segment is an
 * external format: two processes built from different colo versions may share
 * one, so nothing here changes without a version bump:
 *   - major: incompatible change; a reader refuses any major it does not know.
 *   - minor: append-only additions a version-1.0 reader can ignore.
 * All integers are in the host's byte order (both peers share a host).
 *
 * Creator (listener) writes the whole header and the ring control blocks, then
 * stores `state` = COLO__SEG_READY LAST, with release. Openers wait a bounded
 * time for it, then validate every field before using any (segment.c).
 * The opener never re-reads an immutable field after validation: it works from
 * its private, validated copy (colo__seg_layout_t).
 */
#ifndef COLO_RUNTIME_LAYOUT_H
#define COLO_RUNTIME_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "atomics.h"
#include "colo.h"
#include "internal.h"

#define COLO__SEG_MAGIC "colo-seg" /* 8 bytes, no terminator in the segment */
#define COLO__SEG_MAJOR ((uint16_t)COLO_FORMAT_MAJOR)
#define COLO__SEG_MINOR ((uint16_t)COLO_FORMAT_MINOR)

#define COLO__SEG_HEADER_SIZE 128u       /* version 1.0 header, bytes */
#define COLO__SEG_CHECKSUM_SPAN 112u     /* header_checksum covers bytes [0, 112) */
#define COLO__SEG_CONTROL_SIZE 64u
#define COLO__SEG_RING_CTRL_SIZE 192u
#define COLO__SEG_RING_COUNT 2u
#define COLO__SEG_MIN_CAPACITY 4096u         /* 2^12 */
#define COLO__SEG_MAX_CAPACITY (1u << 30)    /* 2^30 */
#define COLO__SEG_DATA_ALIGN 4096u           /* what the creator uses */
#define COLO__SEG_MIN_ALIGN 64u              /* what a reader requires */
#define COLO__SEG_MAX_SIZE ((uint64_t)3 << 30)

/* A ring capacity the format allows: a power of two in [MIN, MAX]. Options,
 * the creator and the opener all ask this one question. */
static inline int colo__seg_capacity_ok(uint64_t cap) {
  return cap >= COLO__SEG_MIN_CAPACITY && cap <= COLO__SEG_MAX_CAPACITY && (cap & (cap - 1)) == 0;
}

/* state word */
#define COLO__SEG_INITIALISING 0u
#define COLO__SEG_READY 1u

/* incompat_flags */
#define COLO__SEG_F_MSG_CHECKSUM 0x1u /* every record carries XXH3 of its payload */
#define COLO__SEG_INCOMPAT_KNOWN (COLO__SEG_F_MSG_CHECKSUM)

/* Ring directions: ring 0 carries listener -> connector, ring 1 the reverse. */
#define COLO__SIDE_LISTENER 0
#define COLO__SIDE_CONNECTOR 1

/* Records in a ring's data area (all 8-byte aligned):
 *   u32 len_flags  bits 0..30: payload length; bit 31: COLO__REC_PAD
 *   u32 check      low 32 bits of XXH3_64(payload) when COLO__SEG_F_MSG_CHECKSUM, else 0
 *   payload        len bytes, then zero to seven unused bytes up to the next 8.
 * A PAD record (len_flags == COLO__REC_PAD exactly) fills the space from its position
 * to the end of the data area; the next record starts at offset 0. A producer
 * writes a pad only together with the record that follows it, never at offset 0. */
#define COLO__REC_HEADER_SIZE 8u
#define COLO__REC_ALIGN 8u
#define COLO__REC_PAD 0x80000000u

typedef struct colo__seg_ring_desc {
  uint64_t ctrl_offset; /* colo__seg_ring_ctrl_t, 64-aligned */
  uint64_t data_offset; /* data area, 64-aligned (the creator uses 4096) */
  uint64_t capacity;    /* bytes, power of two in [4096, 2^30] */
} colo__seg_ring_desc_t;

/* The immutable header at offset 0. Written once by the creator before `state`. */
typedef struct colo__seg_header {
  char magic[8];               /*   0 "colo-seg" */
  uint16_t version_major;      /*   8 */
  uint16_t version_minor;      /*  10 */
  uint32_t header_size;        /*  12 bytes of header; >= 128 */
  uint32_t compat_flags;       /*  16 unknown bits are ignored */
  uint32_t incompat_flags;     /*  20 unknown bits make the segment unreadable */
  uint64_t segment_size;       /*  24 bytes the creator reserved; <= the object's size */
  uint32_t control_offset;     /*  32 colo__seg_control_t, 64-aligned */
  uint32_t ring_count;         /*  36 == 2 */
  colo__seg_ring_desc_t ring[2];/*  40 */
  uint32_t record_header_size; /*  88 == 8 */
  uint32_t record_align;       /*  92 == 8 */
  uint64_t created_ns;         /*  96 creator's wall clock, ns since 1970 (information) */
  uint64_t nonce;              /* 104 random, tells incarnations of a name apart */
  uint64_t header_checksum;    /* 112 XXH3_64bits(bytes [0, 112), seed 0) */
  _Atomic uint32_t state;      /* 120 written by: creator, LAST, release */
  uint32_t reserved0;          /* 124 zero */
} colo__seg_header_t;

/* Mutable words shared by both sides, at control_offset. */
typedef struct colo__seg_control {
  _Atomic uint32_t claim;     /* +0 written by: connector (CAS 0 -> 1); 1 = attached */
  uint32_t reserved0;         /* +4 */
  _Atomic uint32_t closed[2]; /* +8 written by: side i, once, when it closes cleanly */
  uint32_t reserved[12];      /* +16 zero */
} colo__seg_control_t;

/* One ring's control block: three cache lines, so that the producer's index,
 * the consumer's index and the rarely-written sleep flags never share a line. */
typedef struct colo__seg_ring_ctrl {
  _Alignas(64) _Atomic uint64_t tail; /* +0   written by: producer (bytes published) */
  _Alignas(64) _Atomic uint64_t head; /* +64  written by: consumer (bytes released) */
  _Alignas(64) _Atomic uint32_t consumer_waiting; /* +128 written by: consumer */
  _Atomic uint32_t producer_waiting;              /* +132 written by: producer */
  _Atomic uint32_t consumer_never_sleeps;         /* +136 (1.1) written by: consumer, at attach */
  _Atomic uint32_t producer_never_sleeps;         /* +140 (1.1) written by: producer, at attach */
} colo__seg_ring_ctrl_t;

_Static_assert(sizeof(colo__seg_ring_desc_t) == 24, "ring desc is 24 bytes");
_Static_assert(COLO__SEG_MAX_SIZE == COLO__OBJECT_MAX, "the shim maps what the format allows");
_Static_assert(offsetof(colo__seg_header_t, version_major) == 8, "layout");
_Static_assert(offsetof(colo__seg_header_t, header_size) == 12, "layout");
_Static_assert(offsetof(colo__seg_header_t, segment_size) == 24, "layout");
_Static_assert(offsetof(colo__seg_header_t, control_offset) == 32, "layout");
_Static_assert(offsetof(colo__seg_header_t, ring) == 40, "layout");
_Static_assert(offsetof(colo__seg_header_t, record_header_size) == 88, "layout");
_Static_assert(offsetof(colo__seg_header_t, created_ns) == 96, "layout");
_Static_assert(offsetof(colo__seg_header_t, nonce) == 104, "layout");
_Static_assert(offsetof(colo__seg_header_t, header_checksum) == COLO__SEG_CHECKSUM_SPAN, "layout");
_Static_assert(offsetof(colo__seg_header_t, state) == 120, "layout");
_Static_assert(sizeof(colo__seg_header_t) == COLO__SEG_HEADER_SIZE, "header is 128 bytes");
_Static_assert(offsetof(colo__seg_control_t, closed) == 8, "layout");
_Static_assert(sizeof(colo__seg_control_t) == COLO__SEG_CONTROL_SIZE, "control is one line");
_Static_assert(offsetof(colo__seg_ring_ctrl_t, head) == 64, "layout");
_Static_assert(offsetof(colo__seg_ring_ctrl_t, consumer_waiting) == 128, "layout");
_Static_assert(offsetof(colo__seg_ring_ctrl_t, producer_waiting) == 132, "layout");
_Static_assert(offsetof(colo__seg_ring_ctrl_t, consumer_never_sleeps) == 136, "layout");
_Static_assert(offsetof(colo__seg_ring_ctrl_t, producer_never_sleeps) == 140, "layout");
_Static_assert(sizeof(colo__seg_ring_ctrl_t) == COLO__SEG_RING_CTRL_SIZE, "ring ctrl is 3 lines");
_Static_assert(sizeof(_Atomic uint64_t) == 8 && sizeof(_Atomic uint32_t) == 4,
               "atomics have the size of the plain integers");

#endif
