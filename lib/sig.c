/* sig.c: one stop flag for SIGINT/SIGTERM (see sig.h). */
#include <string.h>
#include "handover/sig.h"

volatile sig_atomic_t ho_sig_stop;

static void ho_sig_on_stop(int sig) {
        (void)sig;
        ho_sig_stop = 1;
}

void ho_sig_install(void) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = ho_sig_on_stop; /* no SA_RESTART: a blocked read or poll returns */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
}
