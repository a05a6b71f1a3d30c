/*
 * sig.h: the stop request every long-running program honours. SIGINT and
 * SIGTERM set ho_sig_stop; loops poll with short timeouts and check it. The
 * handler is installed without SA_RESTART, so a blocked read or poll returns
 * EINTR and the loop sees the flag at once.
 */
#ifndef HO_SIG_H
#define HO_SIG_H

#include <signal.h>

extern volatile sig_atomic_t ho_sig_stop;

/* Install the SIGINT/SIGTERM handler that sets ho_sig_stop. */
void ho_sig_install(void);

#endif
