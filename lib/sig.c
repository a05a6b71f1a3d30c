/* sig.c: one stop flag for SIGINT/SIGTERM (see sig.h). */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include "handover/sig.h"

volatile sig_atomic_t ho_sig_stop;

static void sig_on_stop(int sig) {
        (void)sig;
        ho_sig_stop = 1;
}

void ho_sig_install(void) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = sig_on_stop; /* no SA_RESTART: a blocked read or poll returns */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
}

int ho_sig_poll(struct pollfd *fds, nfds_t nfds, int ms) {
        sigset_t stop, old;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        /* a signal between the check and the wait would otherwise be seen
         * only when the wait ends: ppoll unblocks them atomically */
        pthread_sigmask(SIG_BLOCK, &stop, &old);
        if (ho_sig_stop) {
                pthread_sigmask(SIG_SETMASK, &old, NULL);
                errno = EINTR;
                return -1;
        }
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        int n = ppoll(fds, nfds, ms < 0 ? NULL : &ts, &old);
        int e = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        errno = e;
        return n;
}
