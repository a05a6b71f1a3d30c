/*
 * badlist.h: where handover-produce says which records were bad: the
 * "FILE:LINE: message" listing with a cap, and the rejects file of
 * --skip-invalid ("position<TAB>reason<TAB>line").
 *
 * Dependencies: none (used by validate.c, producer.c, produce.c).
 */
#ifndef HO_BADLIST_H
#define HO_BADLIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HO_BADLIST_CAP 100

typedef struct ho_badlist_s {
        FILE *out;      /* where lines go (stderr in the program) */
        size_t cap;     /* lines printed at most */
        uint64_t count; /* bad records seen */
} ho_badlist_t;

void ho_badlist_init(ho_badlist_t *bl, FILE *out, size_t cap);
/* Print "where: msg" while under the cap; always count. */
void ho_badlist_add(ho_badlist_t *bl, const char *where, const char *msg);
/* Print "and N more bad lines" when some were not printed. */
void ho_badlist_finish(ho_badlist_t *bl);

/* A rejects-file line: "position<TAB>reason<TAB>line\n", tabs and newlines
 * in reason replaced by spaces so the line stays three fields. Flushed at
 * once. 0 when it reached the file, else the errno of the failed write
 * (ENOSPC on a full disk); a stream that failed once keeps failing. */
int ho_reject_write(FILE *fp, const char *where, const char *reason, const char *line, size_t len);

/* Make what was written to a rejects file durable: flush, then fsync (a
 * terminal, pipe or character device that cannot be synced is fine). 0 or
 * the errno of what failed. */
int ho_rejects_sync(FILE *fp);

#endif
