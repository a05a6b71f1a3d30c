/*
 * lines.h: a bounded line reader over a file descriptor: lines of any count
 * in constant memory, a cap on one line's length, and a follow mode (tail -F:
 * waits at EOF, reopens a rotated file, restarts a truncated one). A whole
 * regular file can instead be read through a mapping (ho_lines_map), giving
 * the same lines without a copy.
 *
 * Dependencies: err.h only (input.c and validate.c use this module).
 */
#ifndef HO_LINES_H
#define HO_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "handover/err.h"

#define HO_LINE_MAX_DEFAULT (4u << 20) /* 4 MiB: a report with 1000 long persons fits */

typedef enum {
        HO_LINE_OK = 0,   /* *line, *len, *lineno set; the line has no '\n' (nor a final '\r') */
        HO_LINE_EOF,      /* no more lines (never in follow mode) */
        HO_LINE_AGAIN,    /* nothing complete yet: no data within wait_ms, EINTR, or (follow) EOF */
        HO_LINE_TOO_LONG, /* line *lineno exceeded the cap; it was skipped whole */
        HO_LINE_ERROR,    /* read error; errstr says which */
} ho_line_status_t;

typedef struct ho_lines_s ho_lines_t;

/* A reader over fd (not closed by the reader unless path was given to
 * ho_lines_open). wait_ms: how long ho_lines_next may wait in poll() for a
 * pipe or terminal before returning HO_LINE_AGAIN (regular files never wait).
 * max_line 0 means HO_LINE_MAX_DEFAULT. NULL + errstr on failure. */
ho_lines_t *ho_lines_new_fd(int fd, size_t max_line, int wait_ms, char *errstr, size_t errstr_size);
/* Open path (read-only). follow: at EOF return HO_LINE_AGAIN instead of
 * HO_LINE_EOF, keep a partial last line until its '\n' arrives, reopen the
 * path when it was replaced (rotation) and restart from the top when it
 * shrank (truncation); line numbers restart at 1 in either case. */
ho_lines_t *ho_lines_open(const char *path, bool follow, size_t max_line, char *errstr,
                          size_t errstr_size);
void ho_lines_destroy(ho_lines_t *lr);

/* The next line. *line points into the reader's buffer and stays valid until
 * the next call. Without follow, a last line lacking its '\n' is still a
 * line. */
ho_line_status_t ho_lines_next(ho_lines_t *lr, const char **line, size_t *len, uint64_t *lineno,
                               char *errstr, size_t errstr_size);
/* Look at up to n bytes ahead without consuming them (fewer at EOF). Blocks
 * on pipes until n bytes or EOF. Used to tell Avro from JSON. */
ho_err_t ho_lines_peek(ho_lines_t *lr, size_t n, const char **data, size_t *got, char *errstr,
                       size_t errstr_size);
/* Bytes read from the descriptor(s) so far (all files, in follow mode). */
uint64_t ho_lines_bytes_read(const ho_lines_t *lr);
/* Follow mode: how often the file was reopened (rotation) / restarted (truncation). */
unsigned ho_lines_reopens(const ho_lines_t *lr);
unsigned ho_lines_truncations(const ho_lines_t *lr);

/* true when s[0..n) holds only spaces, tabs and '\r' (a line to skip). */
bool ho_line_is_blank(const char *s, size_t n);

/* ---- a whole file through a mapping ------------------------------------- */

/* The lines ho_lines_next() would give (split at '\n', one trailing '\r'
 * dropped, longer than max_line before the '\r' is dropped: too long, a last
 * line without '\n' still a line), as pointers into a read-only mapping of
 * the file. p[0..at) is consumed; the caller may madvise() pages behind it. */
typedef struct ho_linemap_s {
        const char *p;
        size_t len, at;
        uint64_t lineno;
        size_t max_line;
} ho_linemap_t;

/* Map lr's file when it is a regular file lr opened by name, not followed,
 * with nothing of it consumed yet; false (ml zeroed): read it with
 * ho_lines_next() instead. While mapped, a SIGBUS inside the mapping (the
 * file truncated under us) prints "PROG: \"name\" was truncated while it was
 * read ... nothing sent" and exits 1: one file is mapped at a time. */
bool ho_lines_map(ho_lines_t *lr, const char *name, ho_linemap_t *ml);
/* The next line of the mapping: HO_LINE_OK, HO_LINE_TOO_LONG or HO_LINE_EOF. */
ho_line_status_t ho_linemap_next(ho_linemap_t *ml, const char **line, size_t *len,
                                 uint64_t *lineno);
/* Unmap ml; lr's bytes read becomes what was consumed from the mapping. */
void ho_lines_unmap(ho_lines_t *lr, ho_linemap_t *ml);

#endif
