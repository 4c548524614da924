/*
 * os_held.c - what libcolo holds open in this process, for the two moments
 * when something outside the library's calls acts on it:
 *
 *  - SIGBUS. A named segment's file can be truncated under our mapping by
 *    the peer or by any writer of the file; the next access to a vanished
 *    page raises SIGBUS. libwayland-server faces the same threat with
 *    clients' shm pools (wl_shm_buffer_begin_access) and answers it the way
 *    this file does: a handler that acts only on faults inside our own
 *    mappings maps private zero pages over the whole mapping and marks it
 *    lost, so the access is retried on harmless memory and the channel
 *    reports COLO_ECORRUPT at its next call. Every other fault goes to the
 *    handler that was installed before ours.
 *  - fork(). A child shares its parent's open file descriptions: it would
 *    keep the parent's presence locks and sockets alive after the parent
 *    died, and could write into the parent's rings. An atfork child handler
 *    closes every descriptor of the library in the child and replaces every
 *    mapping there by private memory (marked lost: inherited).
 *
 * Entries live in chunks of slots that are never freed, so the signal
 * handler can walk them without a lock. Writers (add, remove) take a mutex;
 * a slot's base and length are written before it turns LIVE (release) and
 * never change while it is LIVE; remove turns it DEAD, waits until no
 * handler is inside the walk, and only then frees it for reuse and lets the
 * caller unmap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../shim.h"
#include "posix.h"

enum { SLOT_FREE = 0, SLOT_LIVE = 1, SLOT_DEAD = 2 };
#define CHUNK_SLOTS 128

struct colo__posix_held {
  _Atomic int state;
  _Atomic uintptr_t base;
  _Atomic size_t len;
  _Atomic int guard; /* repair SIGBUS inside [base, base + len) */
  int *fd[3];        /* the owner's descriptor fields: -1 is written there in a child */
  _Atomic int lost;  /* 0, COLO__OS_LOST_TRUNCATED or COLO__OS_LOST_FORKED */
};

typedef struct chunk {
  struct chunk *_Atomic next;
  colo__posix_held_t slot[CHUNK_SLOTS];
} chunk_t;

static chunk_t first_chunk;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int inflight; /* handlers walking the slots right now */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

#define FOR_EACH_SLOT(h)                                                                       \
  for (chunk_t *c_ = &first_chunk; c_; c_ = atomic_load_explicit(&c_->next, memory_order_acquire)) \
    for (colo__posix_held_t *h = c_->slot; h < c_->slot + CHUNK_SLOTS; h++)

/* ---- fork ------------------------------------------------------------------------- */

static void before_fork(void) { pthread_mutex_lock(&mu); }
static void after_fork_parent(void) { pthread_mutex_unlock(&mu); }

static void after_fork_child(void) {
  /* Only the forking thread lives on here: no handler is inside the walk. */
  atomic_store(&inflight, 0);
  FOR_EACH_SLOT(h) {
    if (atomic_load_explicit(&h->state, memory_order_relaxed) != SLOT_LIVE) continue;
    void *base = (void *)atomic_load_explicit(&h->base, memory_order_relaxed);
    size_t len = atomic_load_explicit(&h->len, memory_order_relaxed);
    if (base && len) mmap(base, len, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 3; i++)
      if (h->fd[i] && *h->fd[i] >= 0) {
        close(*h->fd[i]); /* (a socket's read and write fields hold one descriptor: the second close fails) */
        *h->fd[i] = -1;
      }
    atomic_store_explicit(&h->lost, COLO__OS_LOST_FORKED, memory_order_relaxed);
  }
  pthread_mutex_unlock(&mu);
}

static void register_atfork(void) { pthread_atfork(before_fork, after_fork_parent, after_fork_child); }

/* ---- entries ------------------------------------------------------------------------ */

static const _Atomic int never_lost = 0;

colo__posix_held_t *colo__posix_held_add(void *base, size_t len, int guard, int *fd0, int *fd1, int *fd2) {
  pthread_once(&atfork_once, register_atfork);
  pthread_mutex_lock(&mu);
  colo__posix_held_t *got = NULL;
  for (chunk_t *c = &first_chunk; !got; c = atomic_load_explicit(&c->next, memory_order_relaxed)) {
    for (int i = 0; i < CHUNK_SLOTS && !got; i++)
      if (atomic_load_explicit(&c->slot[i].state, memory_order_relaxed) == SLOT_FREE) got = &c->slot[i];
    if (!got && !atomic_load_explicit(&c->next, memory_order_relaxed)) {
      chunk_t *n = colo__calloc(1, sizeof *n);
      if (!n) break;
      /* pairs with: the acquire loads of next in FOR_EACH_SLOT */
      atomic_store_explicit(&c->next, n, memory_order_release);
    }
  }
  if (got) {
    atomic_store_explicit(&got->base, (uintptr_t)base, memory_order_relaxed);
    atomic_store_explicit(&got->len, len, memory_order_relaxed);
    atomic_store_explicit(&got->guard, guard, memory_order_relaxed);
    got->fd[0] = fd0, got->fd[1] = fd1, got->fd[2] = fd2;
    atomic_store_explicit(&got->lost, 0, memory_order_relaxed);
    /* pairs with: the acquire load of state in the handler's walk */
    atomic_store_explicit(&got->state, SLOT_LIVE, memory_order_release);
  }
  pthread_mutex_unlock(&mu);
  return got;
}

void colo__posix_held_remove(colo__posix_held_t *h) {
  if (!h) return;
  pthread_mutex_lock(&mu);
  atomic_store_explicit(&h->state, SLOT_DEAD, memory_order_seq_cst);
  /* A handler that saw the slot LIVE may still be using its range: the
   * caller unmaps only after it left. */
  while (atomic_load_explicit(&inflight, memory_order_seq_cst) != 0) sched_yield();
  atomic_store_explicit(&h->state, SLOT_FREE, memory_order_relaxed);
  pthread_mutex_unlock(&mu);
}

const _Atomic int *colo__posix_held_lost(const colo__posix_held_t *h) { return h ? &h->lost : &never_lost; }

/* ---- SIGBUS ---------------------------------------------------------------------------- */

int colo__posix_sigbus_repair(void *addr) {
  uintptr_t a = (uintptr_t)addr;
  int fixed = 0;
  atomic_fetch_add_explicit(&inflight, 1, memory_order_seq_cst);
  FOR_EACH_SLOT(h) {
    /* pairs with: the release store of LIVE in colo__posix_held_add */
    if (atomic_load_explicit(&h->state, memory_order_acquire) != SLOT_LIVE) continue;
    if (!atomic_load_explicit(&h->guard, memory_order_relaxed)) continue;
    uintptr_t base = atomic_load_explicit(&h->base, memory_order_relaxed);
    size_t len = atomic_load_explicit(&h->len, memory_order_relaxed);
    if (a < base || a - base >= len) continue;
    /* The pages behind the mapping are gone: private zero pages stand in for
     * the whole of it, so this access and every later one are harmless. */
    if (mmap((void *)base, len, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
        MAP_FAILED) {
      atomic_store_explicit(&h->lost, COLO__OS_LOST_TRUNCATED, memory_order_release);
      fixed = 1;
    }
    break;
  }
  atomic_fetch_sub_explicit(&inflight, 1, memory_order_seq_cst);
  return fixed;
}

static struct sigaction previous;
static _Atomic int installed;

static void on_sigbus(int sig, siginfo_t *si, void *ctx) {
  int saved = errno;
  int ours = si && si->si_code > 0 && colo__posix_sigbus_repair(si->si_addr);
  errno = saved;
  if (ours) return;
  /* Not ours: what would have happened without us. */
  if (previous.sa_flags & SA_SIGINFO) {
    previous.sa_sigaction(sig, si, ctx);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(sig);
  } else if (!si || si->si_code <= 0) {
    /* A SIGBUS that was sent (kill, raise): what the disposition before ours
     * said: ignored, or the default action. */
    if (previous.sa_handler == SIG_IGN) return;
    signal(SIGBUS, SIG_DFL);
    raise(SIGBUS);
  } else {
    /* A fault that is not ours: the default action (a core dump), as the
     * kernel forces it even on an ignored SIGBUS; the access faults again
     * once we return. */
    signal(SIGBUS, SIG_DFL);
  }
}

static pthread_once_t sigbus_once = PTHREAD_ONCE_INIT;

static void install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGBUS, &sa, &previous) == 0) atomic_store(&installed, 1);
}

void colo__os_sigbus_install(void) { pthread_once(&sigbus_once, install); }

/* A library that is unloaded must not leave its handler behind. */
__attribute__((destructor)) static void uninstall(void) {
  struct sigaction cur;
  if (atomic_load(&installed) && sigaction(SIGBUS, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
      cur.sa_sigaction == on_sigbus)
    sigaction(SIGBUS, &previous, NULL);
}
