/* stdfd.c: see stdfd.h. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "handover/stdfd.h"

int ho_stdfd_guard(void) {
        for (int fd = 0; fd <= 2; fd++) {
                if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
                        continue;
                /* the lowest free number is fd itself: 0..fd-1 are open now */
                int got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
                if (got != fd) {
                        if (got >= 0)
                                close(got);
                        return -1;
                }
        }
        return 0;
}
