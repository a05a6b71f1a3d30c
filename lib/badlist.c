/*
 * badlist.c: the listing of bad records and the rejects file (see badlist.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>
#include "handover/badlist.h"

void ho_badlist_init(ho_badlist_t *bl, FILE *out, size_t cap) {
        bl->out = out;
        bl->cap = cap;
        bl->count = 0;
}

void ho_badlist_add(ho_badlist_t *bl, const char *where, const char *msg) {
        if (bl->count++ < bl->cap)
                fprintf(bl->out, "%s: %s\n", where, msg);
}

void ho_badlist_finish(ho_badlist_t *bl) {
        if (bl->count > bl->cap)
                fprintf(bl->out, "and %" PRIu64 " more bad line%s\n", bl->count - bl->cap,
                        bl->count - bl->cap == 1 ? "" : "s");
}

int ho_reject_write(FILE *fp, const char *where, const char *reason, const char *line, size_t len) {
        errno = 0;
        fputs(where, fp);
        fputc('\t', fp);
        for (const char *s = reason; *s; s++)
                fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, fp);
        fputc('\t', fp);
        if (line)
                fwrite(line, 1, len, fp);
        fputc('\n', fp);
        if (fflush(fp) != 0 || ferror(fp))
                return errno ? errno : EIO;
        return 0;
}

int ho_rejects_sync(FILE *fp) {
        errno = 0;
        if (fflush(fp) != 0 || ferror(fp))
                return errno ? errno : EIO;
        if (fsync(fileno(fp)) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP)
                return errno;
        return 0;
}
