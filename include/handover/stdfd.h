/*
 * stdfd.h: standard descriptors that are really there.
 *
 * A program started with a standard descriptor closed (`<&-`, `2>&-`, a
 * careless supervisor) hands that number to the next descriptor it opens:
 * librdkafka's wake-up pipe on 0 made handover-produce read "-" from it for
 * ever, and a socket on 2 would take the log lines. Every program calls
 * ho_stdfd_guard() first thing, as daemons do.
 */
#ifndef HO_STDFD_H
#define HO_STDFD_H

/* Open /dev/null on each of 0, 1 and 2 that is closed (read-only on 0).
 * 0 on success, -1 when /dev/null cannot be opened on it (the caller exits
 * 1; there may be nowhere to say why). */
int ho_stdfd_guard(void);

#endif
