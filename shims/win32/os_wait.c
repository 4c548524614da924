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

#define POLL_NS (1000 * 1000ull)

static void set_how(colo__os_seg_t *s, const char *how) { snprintf(s->how, sizeof s->how, "%s", how); }

void colo__os_seg_name_waits(colo__os_seg_t *s, uint64_t key) {
  int opened = 0, missing = 0, failed = 0;
  colo__win_sa_t sa;
  int have_sa = s->creator && colo__win_sa_make(&sa, s->perm) == 0;
  for (int i = 0; i < COLO__WIN_WAITS; i++) {
    if (s->ev[i]) CloseHandle(s->ev[i]), s->ev[i] = NULL;
    wchar_t name[96];
    swprintf(name, sizeof name / sizeof name[0], L"%ls\\colo.ev.%016llx.%d", s->global ? L"Global" : L"Local",
             (unsigned long long)key, i);
    if (s->creator) {
      SetLastError(0);
      HANDLE h = have_sa ? CreateEventW(&sa.sa, FALSE, FALSE, name) : NULL;
      if (h && GetLastError() == ERROR_ALREADY_EXISTS) {
        /* Someone made it first: not ours to trust. */
        CloseHandle(h);
        h = NULL;
      }
      if (h) s->ev[i] = h, opened++;
      else failed++;
    } else {
      HANDLE h = OpenEventW(EVENT_MODIFY_STATE | SYNCHRONIZE, FALSE, name);
      if (h) s->ev[i] = h, opened++;
      else if (GetLastError() == ERROR_FILE_NOT_FOUND) missing++;
      else failed++;
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

const char *colo__os_seg_wait_how(const colo__os_seg_t *s) { return s->how; }

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
    swprintf(name, sizeof name / sizeof name[0], L"%ls\\colo.ev.%hs.%d", s->global ? L"Global" : L"Local", s->ident,
             wait_id);
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

int colo__os_wait(colo__os_seg_t *s, int wait_id, _Atomic uint32_t *word, uint32_t expect, uint64_t timeout_ns) {
  if (atomic_load_explicit(word, memory_order_acquire) != expect) return 0;
  if (timeout_ns == 0) return COLO_ETIMEDOUT;
  if (!s) return wait_local(word, expect, timeout_ns);
  HANDLE ev = event_of(s, wait_id);
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
