/*
 * validate.h: handover-produce's pass 1 over a named input: every record
 * parsed, validated and encoded (by up to four threads for JSON Lines, with
 * the results in input order whatever the count); valid ones go to the spool,
 * bad ones to the listing or the rejects file.
 *
 * Dependencies: input.h, lines.h, spool.h, tset.h, badlist.h, codec.h
 * (used by produce.c).
 */
#ifndef HO_VALIDATE_H
#define HO_VALIDATE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "handover/badlist.h"
#include "handover/codec.h"
#include "handover/err.h"
#include "handover/spool.h"
#include "handover/tset.h"

/* Set the borrowed members, zero the counters, then call
 * ho_validate_input() for each named input in order. */
typedef struct ho_validate_s {
        ho_codec_t *codec;        /* borrowed */
        ho_spool_t *spool;        /* NULL: encode and count only (dry run) */
        ho_badlist_t *bad;        /* listing of bad records */
        FILE *rejects;            /* non-NULL (--skip-invalid): bad records go here instead */
        const char *const *names; /* position names, by input index */
        size_t n_names;
        ho_tset_t *transfers;              /* optional: distinct transfer ids of valid records */
        const volatile sig_atomic_t *stop; /* optional: checked between records */
        /* called about every 256 valid records, and with the bytes read of this input */
        void (*progress)(void *opaque, uint64_t valid, uint64_t input_bytes);
        void *opaque;
        /* JSON Lines are parsed, validated and encoded by this many threads
         * (0: one per online CPU, at most 4; 1: in the calling thread), each
         * with its own codec made from writer_spec (NULL: the newest schema,
         * else as ho_codec_set_writer() takes it). The results are the same,
         * in the same order, whatever the count. */
        unsigned threads;
        const char *writer_spec;
        /* counters, added to by every call */
        uint64_t valid;    /* records valid (and spooled) */
        uint64_t skipped;  /* records written to rejects */
        uint64_t bytes;    /* encoded value bytes of the valid records */
        int rejects_errno; /* the first failed write to rejects (errno), 0 when none */
} ho_validate_t;

/* Validate one named input (path, input number index). *records (may be
 * NULL) gets the valid records of this input. HO_OK when the input was read
 * to its end (bad records are counted in v->bad->count, not errors);
 * HO_ERR_INTERRUPTED when *stop was set; any other code (errstr says which
 * input and why) when the input or the spool cannot be read or written. */
ho_err_t ho_validate_input(ho_validate_t *v, const char *path, unsigned index, uint64_t *records,
                           uint64_t *bytes_read, char *errstr, size_t errstr_size);

#endif
