/*
 * os_wait.c - sleeping until a word in a segment changes, on Windows.
 *
 * WaitOnAddress does not cross processes, so each wait word of a segment is
 * paired with an auto-reset event, Local\colo.ev.<nonce>.<wait_id> (Global\
 * for a Global\ section). The nonce is the segment's (colo__os_seg_name_waits):
 * only someone who can read the segment knows it, so nobody else can make
 * the event first or steal its wakes. The creator creates the events before
 * it publishes the segment; an opener opens them. The producer's rule is the
 * core's (runtime/ring.c): it wakes only when the waiter's flag says the
 * peer sleeps; an auto-reset event set while nobody waits stays set, so a
 * wake between the waiter's last look and its wait is never lost (the wait
 * returns at once: spurious returns are allowed).
 *
 * An opener that finds no event of that name is in another object namespace
 * than the creator (two process-isolated containers sharing a file://): it
 * waits by polling the word every millisecond, and its wakes are no-ops. The
 * creator's sleeps are bounded by the core (COLO__PEER_POLL_NS slices), so
 * it still sees the opener's messages, only later.
 */
#include "win32.h"

#include <stdio.h>
#include <string.h>
#include <winternl.h>

#define POLL_NS (1000 * 1000ull)
#define POLL_MAX_NS (16 * 1000 * 1000ull) /* a creator's look for a peer that cannot signal */

static void set_how(colo__os_seg_t *s, const char *how) { atomic_store_explicit(&s->how, how, memory_order_relaxed); }

/* Local\colo.ev.TAG.ID (Global\ for a Global\ section): TAG the nonce in
 * hex, or the object's own ident before the waits are named. */
static void event_name(const colo__os_seg_t *s, const char *tag, int id, wchar_t *out, size_t cap) {
  swprintf(out, cap, L"%ls\\colo.ev.%hs.%d", s->global ? L"Global" : L"Local", tag, id);
}

void colo__os_seg_name_waits(colo__os_seg_t *s, uint64_t key) {
  int opened = 0, missing = 0;
  char tag[24];
  snprintf(tag, sizeof tag, "%016llx", (unsigned long long)key);
  colo__win_sa_t sa;
  int have_sa = s->creator && colo__win_sa_make(&sa, s->perm) == 0;
  for (int i = 0; i < COLO__WIN_WAITS; i++) {
    if (s->ev[i]) CloseHandle(s->ev[i]), s->ev[i] = NULL;
    wchar_t name[96];
    event_name(s, tag, i, name, sizeof name / sizeof name[0]);
    if (s->creator) {
      SetLastError(0);
      HANDLE h = have_sa ? CreateEventW(&sa.sa, FALSE, FALSE, name) : NULL;
      if (h && GetLastError() == ERROR_ALREADY_EXISTS) {
        /* Someone made it first: not ours to trust. */
        CloseHandle(h);
        h = NULL;
      }
      if (h) s->ev[i] = h, opened++;
    } else {
      HANDLE h = colo__win_sys.open_event(EVENT_MODIFY_STATE | SYNCHRONIZE, FALSE, name);
      if (h) s->ev[i] = h, opened++;
      else if (GetLastError() == ERROR_FILE_NOT_FOUND) missing++;
    }
  }
  if (have_sa) colo__win_sa_free(&sa);
  s->named = 1;
  s->polling = opened != COLO__WIN_WAITS;
  if (!s->polling) {
    set_how(s, "named events");
  } else {
    for (int i = 0; i < COLO__WIN_WAITS; i++)
      if (s->ev[i]) CloseHandle(s->ev[i]), s->ev[i] = NULL;
    set_how(s, missing ? "a 1 ms poll of the word (the creator's events are in another object namespace)"
                       : "a 1 ms poll of the word (the wait events could not be made)");
  }
}

const char *colo__os_seg_wait_how(const colo__os_seg_t *s) {
  return atomic_load_explicit(&((colo__os_seg_t *)s)->how, memory_order_relaxed);
}

/* The event of wait word id: the one named after the nonce; before that
 * (the core always names its segments' waits; a plain shim user may not),
 * one named after the object itself, made or opened on first use, so that
 * two handles of one segment still meet; for an anonymous segment (threads
 * of this process) an unnamed one. NULL when polling. */
static HANDLE event_of(colo__os_seg_t *s, int wait_id) {
  if (wait_id < 0 || wait_id >= COLO__WIN_WAITS || s->polling) return NULL;
  HANDLE ev = s->ev[wait_id];
  if (ev || s->named) return ev;
  HANDLE made = NULL;
  if (s->ident[0]) {
    wchar_t name[COLO__NAME_MAX + 96];
    event_name(s, s->ident, wait_id, name, sizeof name / sizeof name[0]);
    colo__win_sa_t sa;
    if (colo__win_sa_make(&sa, s->perm ? s->perm : 0600) == 0) {
      made = CreateEventW(&sa.sa, FALSE, FALSE, name);
      colo__win_sa_free(&sa);
    }
  } else {
    made = CreateEventW(NULL, FALSE, FALSE, NULL);
  }
  if (!made) return NULL;
  HANDLE was = InterlockedCompareExchangePointer(&s->ev[wait_id], made, NULL);
  if (was) {
    CloseHandle(made); /* another thread made it first */
    return was;
  }
  return made;
}

/* s == NULL: a word in this process's own memory, between its threads:
 * WaitOnAddress, which wakes threads of one process only. */
static int wait_local(_Atomic uint32_t *word, uint32_t expect, uint64_t timeout_ns) {
  if (WaitOnAddress((volatile void *)word, &expect, sizeof expect, colo__win_ms(timeout_ns))) return 0;
  return GetLastError() == ERROR_TIMEOUT ? COLO_ETIMEDOUT : 0;
}

/* Creator: 1 when another handle of ev exists (the peer opened the events
 * and can wake us); once seen, for good. */
static int peer_can_signal(colo__os_seg_t *s, HANDLE ev) {
  if (s->peer_signals) return 1;
  PUBLIC_OBJECT_BASIC_INFORMATION obi;
  ULONG got = 0;
  if (NtQueryObject(ev, ObjectBasicInformation, &obi, sizeof obi, &got) != 0) return 1; /* cannot tell: trust it */
  if (obi.HandleCount > 1) s->peer_signals = 1;
  return s->peer_signals;
}

/* The creator's sleep while nobody else holds the event: the peer, if there
 * is one, is in another object namespace and polls (its wakes do nothing),
 * so look at the word too, from every 1 ms to every 16 ms while it stays. */
static int wait_unsignalled(colo__os_seg_t *s, HANDLE ev, _Atomic uint32_t *word, uint32_t expect,
                            uint64_t timeout_ns) {
  uint64_t start = colo__os_now_ns(), step = POLL_NS;
  for (;;) {
    uint64_t now = colo__os_now_ns();
    if (now - start >= timeout_ns) return COLO_ETIMEDOUT;
    uint64_t left = timeout_ns - (now - start);
    DWORD r = WaitForSingleObject(ev, colo__win_ms(left < step ? left : step));
    if (r == WAIT_OBJECT_0) return 0;
    if (atomic_load_explicit(word, memory_order_acquire) != expect) return 0;
    if (peer_can_signal(s, ev)) {
      /* It holds them now: its wakes reach us. */
      set_how(s, "named events");
      now = colo__os_now_ns();
      if (now - start >= timeout_ns) return COLO_ETIMEDOUT;
      r = WaitForSingleObject(ev, colo__win_ms(timeout_ns - (now - start)));
      return r == WAIT_TIMEOUT ? COLO_ETIMEDOUT : 0;
    }
    set_how(s, "named events, and a poll of the word up to every 16 ms while no peer holds them "
               "(a peer in another object namespace cannot signal)");
    if (step < POLL_MAX_NS) step *= 2;
  }
}

int colo__os_wait(colo__os_seg_t *s, int wait_id, _Atomic uint32_t *word, uint32_t expect, uint64_t timeout_ns) {
  if (atomic_load_explicit(word, memory_order_acquire) != expect) return 0;
  if (timeout_ns == 0) return COLO_ETIMEDOUT;
  if (!s) return wait_local(word, expect, timeout_ns);
  HANDLE ev = event_of(s, wait_id);
  if (ev && s->creator && s->named && !peer_can_signal(s, ev)) return wait_unsignalled(s, ev, word, expect, timeout_ns);
  if (ev) {
    DWORD r = WaitForSingleObject(ev, colo__win_ms(timeout_ns));
    if (r == WAIT_OBJECT_0) return 0;
    if (r == WAIT_TIMEOUT) return COLO_ETIMEDOUT;
    /* A failed wait must not spin the caller: sleep the slice as a poll. */
  }
  uint64_t start = colo__os_now_ns();
  for (;;) {
    if (atomic_load_explicit(word, memory_order_acquire) != expect) return 0;
    uint64_t now = colo__os_now_ns();
    if (now - start >= timeout_ns) return COLO_ETIMEDOUT;
    uint64_t left = timeout_ns - (now - start);
    colo__os_sleep_ns(left < POLL_NS ? left : POLL_NS);
  }
}

void colo__os_wake(colo__os_seg_t *s, int wait_id, _Atomic uint32_t *word) {
  if (!s) {
    WakeByAddressAll((void *)word);
    return;
  }
  HANDLE ev = event_of(s, wait_id);
  if (ev) SetEvent(ev);
}
