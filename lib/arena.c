/* arena.c: a bump allocator (see arena.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "handover/arena.h"

/* Big enough that a batch of reports takes a handful of chunks, small
 * enough that a quiet partition's arena costs little. */
#define HO_ARENA_CHUNK (64 * 1024)
#define HO_ARENA_ALIGN 16

struct ho_arena_chunk_s {
        ho_arena_chunk_t *next;
        size_t size; /* usable bytes after the header */
        size_t off;
        _Alignas(HO_ARENA_ALIGN) unsigned char data[];
};

void ho_arena_init(ho_arena_t *a, size_t keep) {
        a->head = a->spare = NULL;
        a->keep = keep;
        a->used = 0;
}

static void chunks_free(ho_arena_chunk_t *c) {
        while (c) {
                ho_arena_chunk_t *n = c->next;
                free(c);
                c = n;
        }
}

void ho_arena_free(ho_arena_t *a) {
        chunks_free(a->head);
        chunks_free(a->spare);
        a->head = a->spare = NULL;
        a->used = 0;
}

void ho_arena_reset(ho_arena_t *a) {
        size_t kept = 0;
        for (ho_arena_chunk_t *c = a->spare; c; c = c->next)
                kept += c->size;
        while (a->head) {
                ho_arena_chunk_t *c = a->head;
                a->head = c->next;
                if (kept == 0 || kept + c->size <= a->keep) {
                        kept += c->size;
                        c->off = 0;
                        c->next = a->spare;
                        a->spare = c;
                } else {
                        free(c);
                }
        }
        a->used = 0;
}

void *ho_arena_alloc(ho_arena_t *a, size_t n) {
        size_t need = (n + HO_ARENA_ALIGN - 1) & ~(size_t)(HO_ARENA_ALIGN - 1);
        if (need < n)
                return NULL;
        ho_arena_chunk_t *c = a->head;
        if (!c || c->size - c->off < need) {
                if (a->spare && a->spare->size >= need) {
                        c = a->spare;
                        a->spare = c->next;
                } else {
                        size_t size = need > HO_ARENA_CHUNK ? need : HO_ARENA_CHUNK;
                        if (size > SIZE_MAX - sizeof(ho_arena_chunk_t) ||
                            !(c = malloc(sizeof(*c) + size)))
                                return NULL;
                        c->size = size;
                        c->off = 0;
                }
                c->next = a->head;
                a->head = c;
        }
        void *p = c->data + c->off;
        c->off += need;
        a->used += need;
        return p;
}

size_t ho_arena_spare_bytes(const ho_arena_t *a) {
        size_t n = 0;
        for (const ho_arena_chunk_t *c = a->spare; c; c = c->next)
                n += c->size;
        return n;
}

void *ho_arena_calloc(ho_arena_t *a, size_t n, size_t size) {
        if (size && n > SIZE_MAX / size)
                return NULL;
        void *p = ho_arena_alloc(a, n * size);
        if (p)
                memset(p, 0, n * size);
        return p;
}

char *ho_arena_strndup(ho_arena_t *a, const char *p, size_t n) {
        char *s = ho_arena_alloc(a, n + 1);
        if (s) {
                if (n)
                        memcpy(s, p, n);
                s[n] = '\0';
        }
        return s;
}
