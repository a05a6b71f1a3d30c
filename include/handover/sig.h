/*
 * sig.h: the stop request every long-running program honours. SIGINT and
 * SIGTERM set ho_sig_stop; loops poll with short timeouts and check it. The
 * handler is installed without SA_RESTART, so a blocked read or poll returns
 * EINTR and the loop sees the flag at once.
 */
#ifndef HO_SIG_H
#define HO_SIG_H

#include <poll.h>
#include <signal.h>

extern volatile sig_atomic_t ho_sig_stop;

/* Install the SIGINT/SIGTERM handler that sets ho_sig_stop. */
void ho_sig_install(void);

/* poll(2) that a stop request always ends: -1 with EINTR when the flag is
 * already set, or when SIGINT/SIGTERM comes during the wait (no window
 * between checking the flag and waiting, unlike a check then poll). */
int ho_sig_poll(struct pollfd *fds, nfds_t nfds, int ms);

#endif
