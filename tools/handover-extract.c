/*
 * handover-extract: news articles in, transfer reports out, as the JSON
 * lines handover-produce reads (handover-extract story.txt | handover-produce).
 * The rules live in lib/extract.c (docs/extract.md); this program reads the
 * inputs, prints the reports, writes the evidence and the summary.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handover/buf.h"
#include "handover/cli.h"
#include "handover/conf.h"
#include "handover/extract.h"
#include "handover/jreport.h"
#include "handover/log.h"

#define PROG "handover-extract"

static void usage(FILE *fp, const char *argv0) {
        (void)argv0; /* the name is PROG */
        fprintf(fp,
                "usage: " PROG " [options] [FILE...]\n"
                "\n"
                "Read news articles and print the transfer each reports as a JSON line in\n"
                "the format handover-produce reads. Each FILE is one article as plain text\n"
                "copied from a news page (headline, captions, time line, dateline, body,\n"
                "page furniture); no FILE or \"-\" reads standard input. With --jsonl each\n"
                "line of a FILE is one article: {\"text\": ..., \"url\": ..., \"source\": ...,\n"
                "\"published_at\": ...} (only text is required).\n"
                "\n"
                "options:\n"
                "  --jsonl            inputs are JSON Lines of articles\n"
                "  --evidence FILE    write, per article, every field's quoted span, its\n"
                "                     byte offsets and why it was chosen (JSON lines)\n"
                "  --partial          print incomplete reports too (what was found; they\n"
                "                     lack a required field, so handover-produce refuses them)\n"
                "  -q, --quiet        no line per article on stderr, only the final count\n"
                "  -v                 debug logging (env HANDOVER_LOG_LEVEL)\n"
                "  -h, --help         this help\n"
                "  -V, --version      versions\n"
                "\n"
                "exit status: 0 every article gave a complete report; 1 an article reported\n"
                "no transfer, gave an incomplete report, or could not be read; 2 usage.\n");
}

typedef struct {
        FILE *evidence;
        int partial, quiet, jsonl;
        size_t articles, complete, incomplete, none, failed;
} run_t;

/* The whole of FILE or stdin ("-"); NULL with a message on failure. */
static char *slurp(const char *path, size_t *lenp) {
        ho_buf_t b = HO_BUF_INIT;
        char err[512];
        if (ho_buf_slurp(&b, path, HO_EXTRACT_MAX_TEXT * (size_t)64, err, sizeof(err))) {
                fprintf(stderr, PROG ": %s\n", err);
                ho_buf_free(&b);
                return NULL;
        }
        return ho_buf_steal(&b, lenp);
}

/* An incomplete report as JSON: the fields found, nothing else. */
static char *partial_json(const ho_extract_result_t *res) {
        static const unsigned req[] = {HO_XF_TRANSFER_ID, HO_XF_OCCURRED_ON, HO_XF_REPORTED_AT,
                                       HO_XF_SOURCE,      HO_XF_ORIGIN,      HO_XF_DESTINATION,
                                       HO_XF_INMATES};
        json_t *o = ho_report_to_json(&res->report);
        char *s;
        size_t i;

        if (!o)
                return NULL;
        json_object_del(o, "report_id");
        for (i = 0; i < sizeof(req) / sizeof(req[0]); i++)
                if (res->missing & req[i])
                        json_object_del(o, ho_extract_field_name(req[i]));
        s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        return s;
}

/* Extract one article; where names it in messages ("story.txt",
 * "feed.jsonl:3"). Returns 0 when it gave a complete report. */
static int one(run_t *run, const char *where, const char *text, size_t len,
               const ho_extract_meta_t *meta) {
        ho_extract_result_t res;
        char err[512], *line = NULL, *sum;
        int rc = 1;

        run->articles++;
        ho_extract_result_init(&res);
        if (ho_extract_article(text, len, meta, &res, err, sizeof(err))) {
                fprintf(stderr, PROG ": %s: %s\n", where, err);
                run->failed++;
                return 1;
        }
        if (res.status == HO_EXTRACT_COMPLETE) {
                line = ho_report_to_json_text(&res.report);
                run->complete++;
                rc = 0;
        } else if (res.status == HO_EXTRACT_INCOMPLETE) {
                if (run->partial)
                        line = partial_json(&res);
                run->incomplete++;
        } else {
                run->none++;
        }
        if (line) {
                fputs(line, stdout);
                fputc('\n', stdout);
                free(line);
        } else if (res.status == HO_EXTRACT_COMPLETE ||
                   (res.status == HO_EXTRACT_INCOMPLETE && run->partial)) {
                fprintf(stderr, PROG ": %s: out of memory\n", where);
                rc = 1;
        }
        if (run->evidence) {
                json_t *ev = ho_extract_evidence_json(&res, text, len);
                char *s = NULL;
                if (ev) {
                        json_t *o = json_object();
                        if (o && !json_object_set_new(o, "input", json_string(where))) {
                                if (meta && meta->url)
                                        json_object_set_new(o, "url", json_string(meta->url));
                                json_object_update(o, ev);
                                s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
                        }
                        json_decref(o);
                        json_decref(ev);
                }
                if (!s) {
                        fprintf(stderr, PROG ": %s: out of memory writing the evidence\n", where);
                        rc = 1;
                } else {
                        fprintf(run->evidence, "%s\n", s);
                        free(s);
                }
        }
        if (!run->quiet && (sum = ho_extract_summary(&res))) {
                fprintf(stderr, PROG ": %s: %s\n", where, sum);
                free(sum);
        }
        ho_extract_result_clear(&res);
        return rc;
}

/* A string member of an article object, or NULL; -1 when it is there but no string. */
static int member(json_t *o, const char *name, const char **out) {
        json_t *v = json_object_get(o, name);

        *out = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return -1;
        *out = json_string_value(v);
        return 0;
}

/* A JSON Lines file of articles. Every line is checked before any is
 * extracted: a bad line and nothing of the file is printed. */
static int jsonl_file(run_t *run, const char *path, const char *data, size_t len) {
        json_t **objs = NULL;
        size_t n = 0, cap = 0, i, lineno = 0, *lines = NULL;
        const char *p = data, *end = data + len;
        int rc = 0;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p), k;
                json_error_t je;
                json_t *o;
                const char *s;

                lineno++;
                for (k = 0; k < ll && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'); k++)
                        ;
                if (k < ll) {
                        o = json_loadb(p, ll, JSON_REJECT_DUPLICATES, &je);
                        if (!o || !json_is_object(o)) {
                                fprintf(stderr, PROG ": %s:%zu: %s\n", path, lineno,
                                        o ? "expected a JSON object {\"text\": ...}" : je.text);
                                json_decref(o);
                                rc = 1;
                                break;
                        }
                        {
                                const char *key;
                                json_t *v;
                                json_object_foreach(o, key, v) {
                                        if (strcmp(key, "text") && strcmp(key, "url") &&
                                            strcmp(key, "source") && strcmp(key, "published_at")) {
                                                fprintf(stderr,
                                                        PROG
                                                        ": %s:%zu: unknown member \"%s\" "
                                                        "(expected text, url, source, published_at)\n",
                                                        path, lineno, key);
                                                rc = 1;
                                                break;
                                        }
                                }
                        }
                        if (!rc && (!json_is_string(json_object_get(o, "text")))) {
                                fprintf(stderr,
                                        PROG ": %s:%zu: member \"text\": expected a string\n", path,
                                        lineno);
                                rc = 1;
                        }
                        if (!rc && (member(o, "url", &s) || member(o, "source", &s) ||
                                    member(o, "published_at", &s))) {
                                fprintf(stderr,
                                        PROG
                                        ": %s:%zu: url, source and published_at must be strings\n",
                                        path, lineno);
                                rc = 1;
                        }
                        if (!rc && member(o, "published_at", &s) == 0 && s) {
                                int64_t ms;
                                if (ho_time_parse_rfc3339(s, &ms)) {
                                        fprintf(stderr,
                                                PROG
                                                ": %s:%zu: member \"published_at\": expected an RFC 3339 "
                                                "time with a zone, e.g. \"2026-01-21T05:47:00Z\", got \"%s\"\n",
                                                path, lineno, s);
                                        rc = 1;
                                }
                        }
                        if (rc) {
                                json_decref(o);
                                break;
                        }
                        if (n == cap) {
                                size_t nc = cap ? cap * 2 : 16;
                                json_t **v = realloc(objs, nc * sizeof(*v));
                                size_t *lv = realloc(lines, nc * sizeof(*lv));
                                if (v)
                                        objs = v;
                                if (lv)
                                        lines = lv;
                                if (!v || !lv) {
                                        fprintf(stderr, PROG ": %s: out of memory\n", path);
                                        json_decref(o);
                                        rc = 1;
                                        break;
                                }
                                cap = nc;
                        }
                        objs[n] = o;
                        lines[n++] = lineno;
                }
                p = nl ? nl + 1 : end;
        }
        if (rc) {
                fprintf(stderr, PROG ": %s: nothing extracted from this file\n", path);
                run->failed++;
        }
        for (i = 0; i < n; i++) {
                if (!rc) {
                        char where[4200];
                        ho_extract_meta_t meta;
                        json_t *t = json_object_get(objs[i], "text");
                        member(objs[i], "url", &meta.url);
                        member(objs[i], "source", &meta.source);
                        member(objs[i], "published_at", &meta.published_at);
                        snprintf(where, sizeof(where), "%s:%zu", path, lines[i]);
                        one(run, where, json_string_value(t), json_string_length(t), &meta);
                }
                json_decref(objs[i]);
        }
        free(objs);
        free(lines);
        return rc;
}

int main(int argc, char **argv) {
        run_t run = {0};
        const char *evidence = NULL;
        int opt, i, nfiles;
        char *one_stdin[] = {"-"};
        char **files;

        enum { OPT_JSONL = 256, OPT_EVIDENCE, OPT_PARTIAL };
        static const struct option longopts[] = {{"jsonl", no_argument, NULL, OPT_JSONL},
                                                 {"evidence", required_argument, NULL,
                                                  OPT_EVIDENCE},
                                                 {"partial", no_argument, NULL, OPT_PARTIAL},
                                                 {"quiet", no_argument, NULL, 'q'},
                                                 {"help", no_argument, NULL, 'h'},
                                                 {"version", no_argument, NULL, 'V'},
                                                 {NULL, 0, NULL, 0}};
        ho_cli_t cli;
        char errstr[512];
        if (ho_cli_init(&cli, PROG, argc, errstr, sizeof(errstr))) {
                fprintf(stderr, PROG ": %s\n", errstr);
                return HO_EXIT_FAIL;
        }
        const ho_cli_usage_t cli_usage = {usage, NULL, NULL, "(try \"" PROG " -h\")"};
        while ((opt = getopt_long(argc, argv, "vqhV", longopts, NULL)) != -1) {
                switch (opt) {
                case OPT_JSONL:
                        run.jsonl = 1;
                        break;
                case OPT_EVIDENCE:
                        evidence = optarg;
                        break;
                case OPT_PARTIAL:
                        run.partial = 1;
                        break;
                case 'q':
                        run.quiet = 1;
                        break; /* its own output; warnings stay */
                default: {
                        int rc = ho_cli_dispatch(&cli, opt, optarg, &cli_usage, errstr,
                                                 sizeof(errstr));
                        if (rc != HO_CLI_NEXT) {
                                ho_cli_clear(&cli);
                                return rc;
                        }
                }
                }
        }
        if (cli.verbosity > 0) /* no Kafka or Redis here: only -v is left to settle */
                ho_log_set_level(HO_LOG_DEBUG);
        ho_cli_clear(&cli);
        nfiles = argc - optind;
        files = nfiles ? argv + optind : one_stdin;
        if (!nfiles)
                nfiles = 1;
        for (i = 0; i < nfiles; i++) {
                int k;
                if (strcmp(files[i], "-"))
                        continue;
                for (k = i + 1; k < nfiles; k++)
                        if (!strcmp(files[k], "-")) {
                                fprintf(stderr, PROG ": standard input (\"-\") given twice\n");
                                return HO_EXIT_USAGE;
                        }
        }
        if (evidence && !(run.evidence = fopen(evidence, "w"))) {
                fprintf(stderr, PROG ": cannot write the evidence to \"%s\": %s\n", evidence,
                        strerror(errno));
                return HO_EXIT_FAIL;
        }
        for (i = 0; i < nfiles; i++) {
                const char *where = strcmp(files[i], "-") ? files[i] : "(stdin)";
                size_t len = 0;
                char *text = slurp(files[i], &len);
                if (!text) {
                        run.failed++;
                        continue;
                }
                if (run.jsonl)
                        jsonl_file(&run, where, text, len);
                else
                        one(&run, where, text, len, NULL);
                free(text);
        }
        if (fflush(stdout) || ferror(stdout)) {
                fprintf(stderr, PROG ": cannot write the reports: %s\n", strerror(errno));
                run.failed++;
        }
        if (run.evidence && fclose(run.evidence)) {
                fprintf(stderr, PROG ": cannot write the evidence to \"%s\": %s\n", evidence,
                        strerror(errno));
                run.failed++;
        }
        fprintf(stderr,
                PROG ": %zu article%s: %zu report%s, %zu incomplete%s, %zu without a transfer%s\n",
                run.articles, run.articles == 1 ? "" : "s", run.complete,
                run.complete == 1 ? "" : "s", run.incomplete,
                run.incomplete && !run.partial ? " (not printed; --partial prints them)" : "",
                run.none, run.failed ? ", some inputs could not be read" : "");
        return run.failed || run.incomplete || run.none || !run.articles ? HO_EXIT_FAIL
                                                                         : HO_EXIT_OK;
}
