/*
 * arena.h: a bump allocator for memory that dies all at once: the decoded
 * reports of one batch live in its arena and go with one ho_arena_reset()
 * when the batch is done, instead of a malloc and a free per string.
 *
 * Not thread-safe: one arena has one user at a time (a batch is filled by
 * the consumer thread, then applied and reset by one apply thread).
 */
#ifndef HO_ARENA_H
#define HO_ARENA_H

#include <stddef.h>

typedef struct ho_arena_chunk_s ho_arena_chunk_t;

typedef struct ho_arena_s {
        ho_arena_chunk_t *head;  /* the chunk being filled, then the full ones */
        ho_arena_chunk_t *spare; /* empty chunks a reset kept for reuse */
        size_t keep;             /* bytes of chunks a reset keeps */
        size_t used;             /* bytes handed out since the last reset */
} ho_arena_t;

/* keep: how many bytes of chunks ho_arena_reset() keeps (0: one chunk). */
void ho_arena_init(ho_arena_t *a, size_t keep);
/* Everything handed out is invalid afterwards; chunks beyond keep go back. */
void ho_arena_reset(ho_arena_t *a);
void ho_arena_free(ho_arena_t *a);

/* Bytes of empty chunks held for reuse (what the last reset kept). */
size_t ho_arena_spare_bytes(const ho_arena_t *a);

/* n bytes aligned for any type, or NULL when out of memory. */
void *ho_arena_alloc(ho_arena_t *a, size_t n);
/* n zeroed elements of size each (NULL on overflow or out of memory). */
void *ho_arena_calloc(ho_arena_t *a, size_t n, size_t size);
/* A NUL-terminated copy of the n bytes at p. */
char *ho_arena_strndup(ho_arena_t *a, const char *p, size_t n);

#endif
