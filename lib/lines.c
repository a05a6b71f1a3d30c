/*
 * lines.c: the bounded line reader (see lines.h): a ring of read() chunks
 * with a cap per line and tail -F's follow mode, and the mapped reader that
 * gives the same lines of a whole regular file without a copy.
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "handover/lines.h"

#define HO_LINES_CHUNK (64u << 10)

struct ho_lines_s {
        int fd;
        bool own_fd;
        char *path; /* follow mode: the name to watch */
        bool follow;
        bool is_reg; /* regular files are never poll()ed */
        int wait_ms;
        char *buf;
        size_t cap, start, end;
        size_t scan; /* bytes after start already searched for '\n' */
        size_t max_line;
        uint64_t lineno;
        uint64_t offset; /* bytes read from the current file */
        uint64_t total;  /* bytes read, all files */
        bool eof;
        bool skipping; /* dropping an over-long line up to its '\n' */
        dev_t dev;
        ino_t ino;
        unsigned reopens, truncations;
};

static ho_lines_t *lines_alloc(int fd, size_t max_line, int wait_ms, char *errstr,
                               size_t errstr_size) {
        ho_lines_t *lr = calloc(1, sizeof(*lr));
        struct stat st;

        if (!lr) {
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        lr->fd = fd;
        lr->wait_ms = wait_ms;
        lr->max_line = max_line ? max_line : HO_LINE_MAX_DEFAULT;
        lr->cap = HO_LINES_CHUNK;
        lr->buf = malloc(lr->cap);
        if (!lr->buf) {
                free(lr);
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        if (fstat(fd, &st) == 0) {
                lr->is_reg = S_ISREG(st.st_mode);
                lr->dev = st.st_dev;
                lr->ino = st.st_ino;
        }
        return lr;
}

ho_lines_t *ho_lines_new_fd(int fd, size_t max_line, int wait_ms, char *errstr,
                            size_t errstr_size) {
        return lines_alloc(fd, max_line, wait_ms, errstr, errstr_size);
}

ho_lines_t *ho_lines_open(const char *path, bool follow, size_t max_line, char *errstr,
                          size_t errstr_size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ho_lines_t *lr;

        struct stat st;
        if (fd < 0) {
                ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot open \"%s\": %s", path,
                          strerror(errno));
                return NULL;
        }
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                close(fd);
                ho_seterr(errstr, errstr_size, HO_ERR_IO,
                          "\"%s\" is a directory (expected a JSON Lines or Avro file)", path);
                return NULL;
        }
        lr = lines_alloc(fd, max_line, 100, errstr, errstr_size);
        if (!lr) {
                close(fd);
                return NULL;
        }
        lr->own_fd = true;
        lr->follow = follow;
        if (follow && !(lr->path = strdup(path))) {
                ho_lines_destroy(lr);
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        return lr;
}

void ho_lines_destroy(ho_lines_t *lr) {
        if (!lr)
                return;
        if (lr->own_fd && lr->fd >= 0)
                close(lr->fd);
        free(lr->path);
        free(lr->buf);
        free(lr);
}

uint64_t ho_lines_bytes_read(const ho_lines_t *lr) {
        return lr->total;
}

unsigned ho_lines_reopens(const ho_lines_t *lr) {
        return lr->reopens;
}

unsigned ho_lines_truncations(const ho_lines_t *lr) {
        return lr->truncations;
}

static void lines_restart(ho_lines_t *lr) {
        lr->start = lr->end = lr->scan = 0;
        lr->skipping = false;
        lr->offset = 0;
        lr->lineno = 0;
}

/* Make room for at least one more read at buf[end]. The buffer never needs
 * more than max_line + a chunk: a longer partial line is dropped first. */
static ho_err_t lines_room(ho_lines_t *lr) {
        if (lr->start > 0 && (lr->end == lr->cap || lr->start >= lr->cap / 2)) {
                memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
                lr->end -= lr->start;
                lr->start = 0;
        }
        if (lr->end == lr->cap) {
                size_t ncap = lr->cap * 2;
                char *nb;
                if (ncap > lr->max_line + HO_LINES_CHUNK)
                        ncap = lr->max_line + HO_LINES_CHUNK;
                if (ncap <= lr->cap)
                        return HO_ERR_NOMEM; /* cannot happen: see above */
                nb = realloc(lr->buf, ncap);
                if (!nb)
                        return HO_ERR_NOMEM;
                lr->buf = nb;
                lr->cap = ncap;
        }
        return HO_OK;
}

/* Follow mode at EOF: was the file replaced or cut short? */
static void lines_follow_check(ho_lines_t *lr) {
        struct stat st;
        int fd;

        if (stat(lr->path, &st) != 0)
                return; /* gone for now (mid-rotation): keep the old file */
        if (st.st_dev == lr->dev && st.st_ino == lr->ino) {
                if ((uint64_t)st.st_size < lr->offset && lseek(lr->fd, 0, SEEK_SET) == 0) {
                        lines_restart(lr);
                        lr->truncations++;
                }
                return;
        }
        fd = open(lr->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        if (fstat(fd, &st) != 0) {
                close(fd);
                return;
        }
        close(lr->fd);
        lr->fd = fd;
        lr->dev = st.st_dev;
        lr->ino = st.st_ino;
        lines_restart(lr);
        lr->reopens++;
}

ho_line_status_t ho_lines_next(ho_lines_t *lr, const char **line, size_t *len, uint64_t *lineno,
                               char *errstr, size_t errstr_size) {
        for (;;) {
                size_t have = lr->end - lr->start;
                ssize_t n;

                if (have > lr->scan) {
                        char *l = lr->buf + lr->start;
                        char *nl = memchr(l + lr->scan, '\n', have - lr->scan);
                        if (nl) {
                                size_t ln = (size_t)(nl - l);
                                lr->start += ln + 1;
                                lr->scan = 0;
                                *lineno = ++lr->lineno;
                                if (lr->skipping || ln > lr->max_line) {
                                        lr->skipping = false;
                                        return HO_LINE_TOO_LONG;
                                }
                                if (ln > 0 && l[ln - 1] == '\r')
                                        ln--;
                                *line = l;
                                *len = ln;
                                return HO_LINE_OK;
                        }
                        lr->scan = have;
                }
                if (have > lr->max_line) {
                        /* Over-long: drop what is buffered, keep dropping up to the '\n'. */
                        lr->skipping = true;
                        lr->start = lr->end = lr->scan = 0;
                        have = 0;
                }
                if (lr->eof) {
                        if (have == 0 && !lr->skipping)
                                return HO_LINE_EOF;
                        *lineno = ++lr->lineno;
                        *line = lr->buf + lr->start;
                        *len = have;
                        lr->start = lr->end = lr->scan = 0;
                        if (lr->skipping) {
                                lr->skipping = false;
                                return HO_LINE_TOO_LONG;
                        }
                        /* The last line lacks its '\n': still a line. The buffer is
                         * not touched until the next call, so the pointer stays good. */
                        if (have > 0 && (*line)[have - 1] == '\r')
                                (*len)--;
                        return HO_LINE_OK;
                }
                if (lines_room(lr) != HO_OK) {
                        ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                        return HO_LINE_ERROR;
                }
                if (!lr->is_reg && lr->wait_ms >= 0) {
                        struct pollfd pfd = {.fd = lr->fd, .events = POLLIN};
                        int r = poll(&pfd, 1, lr->wait_ms);
                        if (r == 0 || (r < 0 && errno == EINTR))
                                return HO_LINE_AGAIN;
                }
                n = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
                if (n > 0) {
                        lr->end += (size_t)n;
                        lr->offset += (uint64_t)n;
                        lr->total += (uint64_t)n;
                        continue;
                }
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                return HO_LINE_AGAIN;
                        ho_seterr(errstr, errstr_size, HO_ERR_IO, "read error: %s",
                                  strerror(errno));
                        return HO_LINE_ERROR;
                }
                if (!lr->follow) {
                        lr->eof = true;
                        continue;
                }
                /* Follow mode at EOF. A partial line stays buffered until its '\n'
                 * arrives, unless the file was replaced: then it is the old file's
                 * last line, and is ended here before switching. */
                {
                        unsigned events = lr->reopens + lr->truncations;
                        struct stat st;
                        if (lr->end > lr->start && stat(lr->path, &st) == 0 &&
                            (st.st_dev != lr->dev || st.st_ino != lr->ino)) {
                                lr->buf[lr->end++] = '\n'; /* lines_room left space */
                                continue;
                        }
                        lines_follow_check(lr);
                        if (lr->reopens + lr->truncations != events)
                                continue; /* read the new file (or the top) right away */
                }
                return HO_LINE_AGAIN;
        }
}

ho_err_t ho_lines_peek(ho_lines_t *lr, size_t n, const char **data, size_t *got, char *errstr,
                       size_t errstr_size) {
        while (lr->end - lr->start < n && !lr->eof) {
                ssize_t r;
                if (lines_room(lr) != HO_OK)
                        return ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                r = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
                if (r > 0) {
                        lr->end += (size_t)r;
                        lr->offset += (uint64_t)r;
                        lr->total += (uint64_t)r;
                } else if (r == 0) {
                        if (!lr->follow)
                                lr->eof = true;
                        break;
                } else if (errno == EINTR || errno == EAGAIN) {
                        break;
                } else {
                        return ho_seterr(errstr, errstr_size, HO_ERR_IO, "read error: %s",
                                         strerror(errno));
                }
        }
        *data = lr->buf + lr->start;
        *got = lr->end - lr->start < n ? lr->end - lr->start : n;
        return HO_OK;
}

/* ==== a whole file through a mapping ===================================== */

ho_line_status_t ho_linemap_next(ho_linemap_t *ml, const char **line, size_t *len,
                                 uint64_t *lineno) {
        const char *l = ml->p + ml->at, *nl;
        size_t have = ml->len - ml->at, ln;

        if (have == 0)
                return HO_LINE_EOF;
        nl = memchr(l, '\n', have);
        ln = nl ? (size_t)(nl - l) : have;
        ml->at += nl ? ln + 1 : ln;
        *lineno = ++ml->lineno;
        if (ln > ml->max_line)
                return HO_LINE_TOO_LONG;
        if (ln > 0 && l[ln - 1] == '\r')
                ln--;
        *line = l;
        *len = ln;
        return HO_LINE_OK;
}

/*
 * A mapped file that shrinks under us (truncated by someone else while it is
 * validated) turns every read past its new end into SIGBUS, on whichever
 * thread touches the page. Nothing is sent during validation, so the one safe
 * answer is to stop the whole run there and say which file it was: the
 * handler writes a message prepared when the file was mapped and exits 1.
 * A SIGBUS outside the mapping is not ours: the default action runs.
 */
static const char *volatile map_lo, *volatile map_hi;
static char map_msg[1300];
static volatile size_t map_msg_len;

static void map_sigbus(int sig, siginfo_t *si, void *uctx) {
        (void)uctx;
        const char *a = si->si_addr;
        if (map_lo && a >= map_lo && a < map_hi) {
                ssize_t w = write(STDERR_FILENO, map_msg, map_msg_len);
                (void)w;
                _exit(1);
        }
        signal(sig, SIG_DFL);
        raise(sig);
}

static void map_guard(const char *p, size_t len, const char *name) {
        static bool installed;
        if (!installed) {
                struct sigaction sa;
                memset(&sa, 0, sizeof(sa));
                sa.sa_sigaction = map_sigbus;
                sa.sa_flags = SA_SIGINFO;
                sigemptyset(&sa.sa_mask);
                sigaction(SIGBUS, &sa, NULL);
                installed = true;
        }
        int n = snprintf(map_msg, sizeof(map_msg),
                         "%s: \"%s\" was truncated while it was read (SIGBUS past its new "
                         "end): nothing sent\n",
                         program_invocation_short_name, name);
        map_msg_len = n < 0 ? 0 : (size_t)n >= sizeof(map_msg) ? sizeof(map_msg) - 1 : (size_t)n;
        map_hi = p + len;
        map_lo = p;
}

static void map_unguard(void) {
        map_lo = map_hi = NULL;
}

bool ho_lines_map(ho_lines_t *lr, const char *name, ho_linemap_t *ml) {
        struct stat st;
        void *m;

        memset(ml, 0, sizeof(*ml));
        if (!lr || !lr->own_fd || !lr->is_reg || lr->follow || lr->lineno != 0 ||
            fstat(lr->fd, &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX)
                return false;
        m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, lr->fd, 0);
        if (m == MAP_FAILED)
                return false;
        madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
        map_guard(m, (size_t)st.st_size, name);
        ml->p = m;
        ml->len = (size_t)st.st_size;
        ml->max_line = lr->max_line;
        return true;
}

void ho_lines_unmap(ho_lines_t *lr, ho_linemap_t *ml) {
        if (!ml->p)
                return;
        lr->total = ml->at; /* what ho_lines_bytes_read() says */
        map_unguard();
        munmap((void *)ml->p, ml->len);
        memset(ml, 0, sizeof(*ml));
}

bool ho_line_is_blank(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
                        return false;
        return true;
}
