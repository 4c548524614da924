/*
 * atomics.h - named memory orders for words shared with another process.
 *
 * Every load or store of a word the peer can also touch goes through one of
 * these, so the ordering intent is visible at the call site, and each use says
 * what it pairs with. The peer may be hostile: a value loaded here is read once
 * into a local and validated before use.
 *
 * The sleep protocol (see ring.c) needs a store-load barrier between "publish my
 * index" and "read the peer's waiting flag". The side about to sleep uses a
 * seq_cst store/load pair (it is on the slow path anyway); the side that
 * publishes on every message uses a release store, a seq_cst fence and a
 * relaxed load, because a seq_cst store is a locked RMW on x86 and that line
 * is the one the peer polls (ring.c says what it cost). TSan does not model
 * fences: a TSan build uses the seq_cst store instead (COLO__TSAN), which is
 * the same rule in the form TSan understands.
 */
#ifndef COLO_RUNTIME_ATOMICS_H
#define COLO_RUNTIME_ATOMICS_H

#include <stdatomic.h>
#include <stdint.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free to be shared");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free to be shared");

#define colo__load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define colo__load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define colo__load_seq_cst(p) atomic_load_explicit((p), memory_order_seq_cst)
#define colo__store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define colo__store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define colo__store_seq_cst(p, v) atomic_store_explicit((p), (v), memory_order_seq_cst)
#define colo__fence_seq_cst() atomic_thread_fence(memory_order_seq_cst)

/* Built with ThreadSanitizer, which does not model fences (GCC refuses them
 * with -Wtsan): the code that would use one takes its seq_cst-operations
 * form instead, which TSan checks. */
#if defined(__SANITIZE_THREAD__)
#  define COLO__TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define COLO__TSAN 1
#  endif
#endif
#ifndef COLO__TSAN
#  define COLO__TSAN 0
#endif
#define colo__cas_acq_rel(p, expp, v)                                                        \
  atomic_compare_exchange_strong_explicit((p), (expp), (v), memory_order_acq_rel,          \
                                          memory_order_acquire)

/* A 32-bit view of the low half of a shared 64-bit index: futexes are 32 bits.
 * The low half changes whenever the index does by less than 2^32, which the ring
 * guarantees (capacity <= 2^30). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#  define COLO__LO32_OFFSET 4
#else
#  define COLO__LO32_OFFSET 0
#endif
static inline _Atomic uint32_t *colo__lo32(_Atomic uint64_t *p) {
  return (_Atomic uint32_t *)(void *)((unsigned char *)p + COLO__LO32_OFFSET);
}

/* Reads a 32-bit word of peer-written memory exactly once (no re-fetch by the
 * compiler), for record headers inside the data area. */
static inline uint32_t colo__read_once_u32(const void *p) {
  return atomic_load_explicit((const _Atomic uint32_t *)p, memory_order_relaxed);
}

/* Spin-loop hint: lets the sibling hyperthread run and saves power.
 * Compilers: C11 atomics and GCC/Clang builtins. The Windows build uses
 * MinGW-w64's GCC (or clang), not MSVC, whose C11 atomics are still
 * experimental; an MSVC port adds its branch here (_mm_pause), as Aeron's
 * aeron_atomic64_msvc.h does, and nowhere else. */
static inline void colo__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#else
  atomic_signal_fence(memory_order_seq_cst);
#endif
}

#endif
