/*
 * schema.c: Avro schema identity (see schema.h).
 *
 * avro-c has no Parsing Canonical Form, no fingerprint, and its schemas keep
 * no field defaults, so this module parses schema JSON itself (jansson) into
 * a small tree of nodes, then:
 *   - emits the Parsing Canonical Form by the specification's rules
 *     [PRIMITIVES] [FULLNAMES] [STRIP] [ORDER] [STRINGS] [INTEGERS] [WHITESPACE];
 *   - checks writer/reader compatibility by the specification's "Schema
 *     Resolution" rules, defaults included. (avro-c 1.11.1's own resolver
 *     refuses any reader field missing from the writer, even with a default,
 *     and double-frees on that error path when the schema nests a record, so
 *     it cannot judge a defaulted addition such as v1 -> v2.)
 */
#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "handover/buf.h"
#include "handover/schema.h"
#include "handover/schemas_embedded.h"

/* ---- CRC-64-AVRO ------------------------------------------------------- */

#define CRC64_EMPTY 0xc15d213aa4d7a795ULL

static uint64_t crc64_table[256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void) {
        int i, j;

        for (i = 0; i < 256; i++) {
                uint64_t fp = (uint64_t)i;
                for (j = 0; j < 8; j++)
                        fp = (fp >> 1) ^ (CRC64_EMPTY & (0 - (fp & 1)));
                crc64_table[i] = fp;
        }
}

uint64_t ho_crc64_avro(const void *data, size_t len) {
        const unsigned char *p = data;
        uint64_t fp = CRC64_EMPTY;
        size_t i;

        pthread_once(&crc64_once, crc64_init);
        for (i = 0; i < len; i++)
                fp = (fp >> 8) ^ crc64_table[(fp ^ p[i]) & 0xff];
        return fp;
}

/* ---- schema tree --------------------------------------------------------- */

enum node_kind {
        K_NULL,
        K_BOOLEAN,
        K_INT,
        K_LONG,
        K_FLOAT,
        K_DOUBLE,
        K_BYTES,
        K_STRING,
        K_RECORD,
        K_ENUM,
        K_ARRAY,
        K_MAP,
        K_FIXED,
        K_UNION
};

static const char *const kind_names[] = {"null",   "boolean", "int",    "long",   "float",
                                         "double", "bytes",   "string", "record", "enum",
                                         "array",  "map",     "fixed",  "union"};

typedef struct node_s node_t;
struct node_s {
        enum node_kind kind;
        char *fullname;     /* named types */
        node_t **child;     /* record fields' types, union branches, items/values ([0]) */
        char **field_names; /* record: field names; enum: symbols */
        json_t **defaults;  /* record: field defaults (borrowed from the JSON), or NULL */
        size_t n;           /* fields, branches, symbols; 1 for array/map */
        json_int_t size;    /* fixed */
        bool has_enum_default;
        node_t *next_alloc; /* every node of a tree, for freeing */
};

typedef struct tree_s {
        json_t *json; /* owns the parsed text (defaults point into it) */
        node_t *root;
        node_t *all;    /* allocation list */
        node_t **named; /* defined named types, for references */
        size_t n_named, cap_named;
        char *errstr;
        size_t errstr_size;
        int depth;
} tree_t;

#define MAX_DEPTH 64

static void tree_free(tree_t *t) {
        node_t *n = t->all, *next;
        size_t i;

        while (n) {
                next = n->next_alloc;
                free(n->fullname);
                free(n->child);
                if (n->kind == K_RECORD || n->kind == K_ENUM)
                        for (i = 0; i < n->n; i++)
                                free(n->field_names[i]);
                free(n->field_names);
                free(n->defaults);
                free(n);
                n = next;
        }
        free(t->named);
        if (t->json)
                json_decref(t->json);
        memset(t, 0, sizeof(*t));
}

static node_t *node_new(tree_t *t, enum node_kind k) {
        node_t *n = calloc(1, sizeof(*n));

        if (!n)
                return NULL;
        n->kind = k;
        n->next_alloc = t->all;
        t->all = n;
        return n;
}

static int primitive_kind(const char *s) {
        int k;

        for (k = K_NULL; k <= K_STRING; k++)
                if (!strcmp(s, kind_names[k]))
                        return k;
        return -1;
}

static node_t *find_named(tree_t *t, const char *fullname) {
        size_t i;

        for (i = 0; i < t->n_named; i++)
                if (!strcmp(t->named[i]->fullname, fullname))
                        return t->named[i];
        return NULL;
}

/* fullname of `name` in namespace ns (NULL or "" = none); malloc'd. */
static char *make_fullname(const char *name, const char *ns) {
        char *s;
        size_t n;

        if (strchr(name, '.') || !ns || !*ns)
                return strdup(name);
        n = strlen(ns) + strlen(name) + 2;
        s = malloc(n);
        if (s)
                snprintf(s, n, "%s.%s", ns, name);
        return s;
}

/* A name's parts must each be [A-Za-z_][A-Za-z0-9_]* (the spec's rule). */
static bool valid_name(const char *s, bool dotted) {
        bool start = true;

        if (!*s)
                return false;
        for (; *s; s++) {
                if (*s == '.' && dotted && !start) {
                        start = true;
                        continue;
                }
                if (!(isalpha((unsigned char)*s) || *s == '_' ||
                      (!start && isdigit((unsigned char)*s))) ||
                    (unsigned char)*s > 0x7f)
                        return false;
                start = false;
        }
        return !start;
}

static node_t *parse_node(tree_t *t, json_t *j, const char *ns);

static node_t *fail(tree_t *t, const char *fmt, const char *arg) {
        if (t->errstr && t->errstr_size)
                snprintf(t->errstr, t->errstr_size, fmt, arg);
        return NULL;
}

/* Define a named type: its fullname and the namespace its children inherit. */
static node_t *define_named(tree_t *t, json_t *j, enum node_kind k, const char *ns,
                            char **child_ns) {
        json_t *jn = json_object_get(j, "name"), *jns = json_object_get(j, "namespace");
        const char *name, *space = ns, *dot;
        node_t *n;

        if (!json_is_string(jn))
                return fail(t, "%s schema without a string \"name\"", kind_names[k]);
        name = json_string_value(jn);
        if (!valid_name(name, true))
                return fail(t, "invalid name \"%s\"", name);
        if (jns && !json_is_null(jns)) {
                if (!json_is_string(jns))
                        return fail(t, "\"namespace\" of \"%s\" is not a string", name);
                space = json_string_value(jns);
                if (*space && !valid_name(space, true))
                        return fail(t, "invalid namespace \"%s\"", space);
        }
        n = node_new(t, k);
        if (!n)
                return fail(t, "%s", "out of memory");
        n->fullname = make_fullname(name, space);
        if (!n->fullname)
                return fail(t, "%s", "out of memory");
        if (find_named(t, n->fullname))
                return fail(t, "type \"%s\" defined twice", n->fullname);
        if (t->n_named == t->cap_named) {
                size_t cap = t->cap_named ? t->cap_named * 2 : 8;
                node_t **p = realloc(t->named, cap * sizeof(*p));
                if (!p)
                        return fail(t, "%s", "out of memory");
                t->named = p;
                t->cap_named = cap;
        }
        t->named[t->n_named++] = n;
        dot = strrchr(n->fullname, '.');
        *child_ns = dot ? strndup(n->fullname, (size_t)(dot - n->fullname)) : strdup("");
        if (!*child_ns)
                return fail(t, "%s", "out of memory");
        return n;
}

static node_t *parse_reference(tree_t *t, const char *name, const char *ns) {
        node_t *n;
        char *full;
        int k = primitive_kind(name);

        if (k >= 0)
                return node_new(t, (enum node_kind)k);
        full = make_fullname(name, ns);
        if (!full)
                return fail(t, "%s", "out of memory");
        n = find_named(t, full);
        free(full);
        /* as the Java implementation does: fall back to the null namespace */
        if (!n)
                n = find_named(t, name);
        if (!n)
                return fail(t, "unknown type \"%s\"", name);
        return n;
}

/* Does a field's default fit its type? (Avro: a union's default is of its
 * first branch.) Records and maps check their members, arrays their items. */
static bool default_fits(const node_t *n, json_t *d, int depth) {
        size_t i;
        const char *key;
        json_t *v;

        if (depth > MAX_DEPTH)
                return false;
        switch (n->kind) {
        case K_NULL:
                return json_is_null(d);
        case K_BOOLEAN:
                return json_is_boolean(d);
        case K_INT:
                return json_is_integer(d) && json_integer_value(d) >= INT32_MIN &&
                       json_integer_value(d) <= INT32_MAX;
        case K_LONG:
                return json_is_integer(d);
        case K_FLOAT:
        case K_DOUBLE:
                return json_is_number(d);
        case K_BYTES:
        case K_STRING:
        case K_FIXED:
                return json_is_string(d);
        case K_ENUM:
                if (!json_is_string(d))
                        return false;
                for (i = 0; i < n->n; i++)
                        if (!strcmp(n->field_names[i], json_string_value(d)))
                                return true;
                return false;
        case K_ARRAY:
                if (!json_is_array(d))
                        return false;
                json_array_foreach(d, i, v) {
                        if (!default_fits(n->child[0], v, depth + 1))
                                return false;
                }
                return true;
        case K_MAP:
                if (!json_is_object(d))
                        return false;
                json_object_foreach(d, key, v) {
                        if (!default_fits(n->child[0], v, depth + 1))
                                return false;
                }
                return true;
        case K_UNION:
                return n->n > 0 && default_fits(n->child[0], d, depth + 1);
        case K_RECORD:
                if (!json_is_object(d))
                        return false;
                for (i = 0; i < n->n; i++) {
                        json_t *m = json_object_get(d, n->field_names[i]);
                        if (!m)
                                m = n->defaults ? n->defaults[i] : NULL;
                        if (!m || !default_fits(n->child[i], m, depth + 1))
                                return false;
                }
                return true;
        }
        return false;
}

static node_t *parse_record(tree_t *t, json_t *j, const char *ns) {
        char *cns = NULL;
        json_t *fields = json_object_get(j, "fields"), *f;
        node_t *n = define_named(t, j, K_RECORD, ns, &cns);
        size_t i, m;

        if (!n)
                goto out;
        if (!json_is_array(fields)) {
                n = fail(t, "record \"%s\" without a \"fields\" array", n->fullname);
                goto out;
        }
        m = json_array_size(fields);
        n->child = calloc(m + 1, sizeof(*n->child));
        n->field_names = calloc(m + 1, sizeof(*n->field_names));
        n->defaults = calloc(m + 1, sizeof(*n->defaults));
        if (!n->child || !n->field_names || !n->defaults) {
                n = fail(t, "%s", "out of memory");
                goto out;
        }
        json_array_foreach(fields, i, f) {
                json_t *fn = json_object_get(f, "name");
                size_t k;

                if (!json_is_object(f) || !json_is_string(fn) ||
                    !valid_name(json_string_value(fn), false)) {
                        n = fail(t, "record \"%s\": a field without a valid \"name\"", n->fullname);
                        goto out;
                }
                for (k = 0; k < i; k++)
                        if (!strcmp(n->field_names[k], json_string_value(fn))) {
                                n = fail(t, "field \"%s\" appears twice", json_string_value(fn));
                                goto out;
                        }
                n->field_names[i] = strdup(json_string_value(fn));
                n->n = i + 1; /* so tree_free frees what exists */
                if (!n->field_names[i]) {
                        n = fail(t, "%s", "out of memory");
                        goto out;
                }
                if (!json_object_get(f, "type")) {
                        n = fail(t, "field \"%s\" without a \"type\"", json_string_value(fn));
                        goto out;
                }
                n->defaults[i] = json_object_get(f, "default");
                n->child[i] = parse_node(t, json_object_get(f, "type"), cns);
                if (!n->child[i]) {
                        n = NULL;
                        goto out;
                }
        }
out:
        free(cns);
        return n;
}

static node_t *parse_enum(tree_t *t, json_t *j, const char *ns) {
        char *cns = NULL;
        json_t *syms = json_object_get(j, "symbols"), *s;
        node_t *n = define_named(t, j, K_ENUM, ns, &cns);
        size_t i;

        free(cns);
        if (!n)
                return NULL;
        if (!json_is_array(syms))
                return fail(t, "enum \"%s\" without a \"symbols\" array", n->fullname);
        n->field_names = calloc(json_array_size(syms) + 1, sizeof(char *));
        if (!n->field_names)
                return fail(t, "%s", "out of memory");
        json_array_foreach(syms, i, s) {
                if (!json_is_string(s) || !valid_name(json_string_value(s), false))
                        return fail(t, "enum \"%s\": symbols must be names", n->fullname);
                n->field_names[i] = strdup(json_string_value(s));
                n->n = i + 1;
                if (!n->field_names[i])
                        return fail(t, "%s", "out of memory");
        }
        n->has_enum_default = json_is_string(json_object_get(j, "default"));
        return n;
}

static node_t *parse_node(tree_t *t, json_t *j, const char *ns) {
        node_t *n = NULL;
        json_t *type;
        const char *ts;
        int k;

        if (++t->depth > MAX_DEPTH) {
                n = fail(t, "schema nested deeper than %s levels", "64");
                goto out;
        }
        if (json_is_string(j)) {
                n = parse_reference(t, json_string_value(j), ns);
        } else if (json_is_array(j)) {
                size_t i, m = json_array_size(j);
                json_t *b;

                n = node_new(t, K_UNION);
                if (!n || !(n->child = calloc(m + 1, sizeof(*n->child)))) {
                        n = fail(t, "%s", "out of memory");
                        goto out;
                }
                n->n = m;
                json_array_foreach(j, i, b) {
                        if (!(n->child[i] = parse_node(t, b, ns))) {
                                n = NULL;
                                goto out;
                        }
                        if (n->child[i]->kind == K_UNION) {
                                n = fail(t, "%s", "a union may not hold a union");
                                goto out;
                        }
                }
        } else if (json_is_object(j)) {
                type = json_object_get(j, "type");
                if (json_is_object(type) || json_is_array(type)) {
                        n = parse_node(t, type, ns);
                        goto out;
                }
                if (!json_is_string(type)) {
                        n = fail(t, "%s", "schema object without a string \"type\"");
                        goto out;
                }
                ts = json_string_value(type);
                k = primitive_kind(ts);
                if (k >= 0) {
                        n = node_new(t, (enum node_kind)k); /* [PRIMITIVES], [STRIP] */
                } else if (!strcmp(ts, "record") || !strcmp(ts, "error")) {
                        n = parse_record(t, j, ns);
                } else if (!strcmp(ts, "enum")) {
                        n = parse_enum(t, j, ns);
                } else if (!strcmp(ts, "array") || !strcmp(ts, "map")) {
                        int is_array = ts[0] == 'a';
                        json_t *sub = json_object_get(j, is_array ? "items" : "values");

                        if (!sub) {
                                n = fail(t, "%s schema without its element type", ts);
                                goto out;
                        }
                        n = node_new(t, is_array ? K_ARRAY : K_MAP);
                        if (!n || !(n->child = calloc(1, sizeof(*n->child)))) {
                                n = fail(t, "%s", "out of memory");
                                goto out;
                        }
                        n->n = 1;
                        if (!(n->child[0] = parse_node(t, sub, ns)))
                                n = NULL;
                } else if (!strcmp(ts, "fixed")) {
                        char *cns = NULL;
                        json_t *size = json_object_get(j, "size");

                        n = define_named(t, j, K_FIXED, ns, &cns);
                        free(cns);
                        if (n && (!json_is_integer(size) || json_integer_value(size) < 0))
                                n = fail(t, "fixed \"%s\" without a non-negative \"size\"",
                                         n->fullname);
                        if (n)
                                n->size = json_integer_value(size);
                } else {
                        n = parse_reference(t, ts, ns);
                }
        } else {
                n = fail(t, "%s", "a schema must be a string, an object or an array");
        }
out:
        t->depth--;
        return n;
}

static ho_err_t tree_parse(tree_t *t, const char *json, size_t len, char *errstr,
                           size_t errstr_size) {
        json_error_t jerr;

        memset(t, 0, sizeof(*t));
        t->errstr = errstr;
        t->errstr_size = errstr_size;
        t->json = json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (!t->json)
                return ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA,
                                 "schema is not JSON: %s at line %d column %d", jerr.text,
                                 jerr.line, jerr.column);
        t->root = parse_node(t, t->json, "");
        if (!t->root) {
                tree_free(t);
                return HO_ERR_SCHEMA;
        }
        return HO_OK;
}

/* ---- Parsing Canonical Form ---------------------------------------------- */

/* Names are [A-Za-z0-9_.] only, so [STRINGS] needs no escaping here. */
static ho_err_t emit(ho_buf_t *b, const node_t *n, const node_t **seen, size_t *n_seen) {
        size_t i;
        ho_err_t e = HO_OK;

        switch (n->kind) {
        case K_RECORD:
        case K_ENUM:
        case K_FIXED:
                for (i = 0; i < *n_seen; i++)
                        if (seen[i] == n)
                                return ho_buf_printf(b, "\"%s\"", n->fullname);
                seen[(*n_seen)++] = n;
                e = ho_buf_printf(b, "{\"name\":\"%s\",\"type\":\"%s\"", n->fullname,
                                  kind_names[n->kind]);
                if (n->kind == K_FIXED)
                        return e ? e
                                 : ho_buf_printf(b, ",\"size\":%" JSON_INTEGER_FORMAT "}", n->size);
                e = e ? e
                      : ho_buf_append_str(b,
                                          n->kind == K_RECORD ? ",\"fields\":[" : ",\"symbols\":[");
                for (i = 0; !e && i < n->n; i++) {
                        if (i)
                                e = ho_buf_append_str(b, ",");
                        if (n->kind == K_ENUM) {
                                e = e ? e : ho_buf_printf(b, "\"%s\"", n->field_names[i]);
                        } else {
                                e = e ? e
                                      : ho_buf_printf(b, "{\"name\":\"%s\",\"type\":",
                                                      n->field_names[i]);
                                e = e ? e : emit(b, n->child[i], seen, n_seen);
                                e = e ? e : ho_buf_append_str(b, "}");
                        }
                }
                return e ? e : ho_buf_append_str(b, "]}");
        case K_ARRAY:
        case K_MAP:
                e = ho_buf_printf(b, "{\"type\":\"%s\",\"%s\":", kind_names[n->kind],
                                  n->kind == K_ARRAY ? "items" : "values");
                e = e ? e : emit(b, n->child[0], seen, n_seen);
                return e ? e : ho_buf_append_str(b, "}");
        case K_UNION:
                e = ho_buf_append_str(b, "[");
                for (i = 0; !e && i < n->n; i++) {
                        if (i)
                                e = ho_buf_append_str(b, ",");
                        e = e ? e : emit(b, n->child[i], seen, n_seen);
                }
                return e ? e : ho_buf_append_str(b, "]");
        default:
                return ho_buf_printf(b, "\"%s\"", kind_names[n->kind]);
        }
}

static char *tree_canonical(tree_t *t, char *errstr, size_t errstr_size) {
        ho_buf_t b = HO_BUF_INIT;
        const node_t **seen = calloc(t->n_named + 1, sizeof(*seen));
        size_t n_seen = 0;

        if (!seen || emit(&b, t->root, seen, &n_seen)) {
                free(seen);
                ho_buf_free(&b);
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        free(seen);
        return ho_buf_steal(&b, NULL);
}

char *ho_schema_canonical(const char *json, size_t len, char *errstr, size_t errstr_size) {
        tree_t t;
        char *s;

        if (tree_parse(&t, json, len, errstr, errstr_size))
                return NULL;
        s = tree_canonical(&t, errstr, errstr_size);
        tree_free(&t);
        return s;
}

ho_err_t ho_schema_fingerprint(const char *json, size_t len, uint64_t *fp, char *errstr,
                               size_t errstr_size) {
        char *c = ho_schema_canonical(json, len, errstr, errstr_size);

        if (!c)
                return HO_ERR_SCHEMA;
        *fp = ho_crc64_avro(c, strlen(c));
        free(c);
        return HO_OK;
}

/* ---- compatibility (the specification's Schema Resolution) --------------- */

typedef struct compat_s {
        const node_t **pairs; /* (writer, reader) pairs being checked: recursion guard */
        size_t n_pairs, cap_pairs;
        char path[256];
        char *errstr;
        size_t errstr_size;
} compat_t;

static const char *unqualified(const char *fullname) {
        const char *dot = strrchr(fullname, '.');
        return dot ? dot + 1 : fullname;
}

static const char *describe(const node_t *n) {
        return n->fullname ? n->fullname : kind_names[n->kind];
}

static bool promotable(enum node_kind w, enum node_kind r) {
        if (w == r)
                return true;
        switch (w) {
        case K_INT:
                return r == K_LONG || r == K_FLOAT || r == K_DOUBLE;
        case K_LONG:
                return r == K_FLOAT || r == K_DOUBLE;
        case K_FLOAT:
                return r == K_DOUBLE;
        case K_STRING:
                return r == K_BYTES;
        case K_BYTES:
                return r == K_STRING;
        default:
                return false;
        }
}

static ho_err_t compat_fail(compat_t *c, const char *fmt, const char *a, const char *b) {
        char msg[512];

        snprintf(msg, sizeof(msg), fmt, a, b);
        return ho_seterr(c->errstr, c->errstr_size, HO_ERR_INCOMPATIBLE, "at \"%s\": %s",
                         c->path[0] ? c->path : "(top)", msg);
}

static ho_err_t compat(compat_t *c, const node_t *w, const node_t *r);

/* Append ".name" to the path for the duration of a nested check. */
static ho_err_t compat_at(compat_t *c, const char *seg, const node_t *w, const node_t *r) {
        size_t old = strlen(c->path);
        ho_err_t e;

        snprintf(c->path + old, sizeof(c->path) - old, "%s%s", old ? "." : "", seg);
        e = compat(c, w, r);
        if (!e)
                c->path[old] = '\0';
        return e;
}

static ho_err_t compat(compat_t *c, const node_t *w, const node_t *r) {
        size_t i, k;

        if (w->kind == K_UNION) {
                for (i = 0; i < w->n; i++) {
                        ho_err_t e = compat(c, w->child[i], r);
                        if (e)
                                return e;
                }
                return HO_OK;
        }
        if (r->kind == K_UNION) {
                char save[256];

                memcpy(save, c->path, sizeof(save));
                for (i = 0; i < r->n; i++) {
                        if (!compat(c, w, r->child[i]))
                                return HO_OK;
                        memcpy(c->path, save, sizeof(save));
                }
                return compat_fail(c,
                                   "writer type \"%s\" matches no branch of the reader's "
                                   "union%s",
                                   describe(w), "");
        }
        if (w->kind <= K_STRING || r->kind <= K_STRING) {
                if (!promotable(w->kind, r->kind))
                        return compat_fail(c, "writer type \"%s\" cannot be read as \"%s\"",
                                           describe(w), describe(r));
                return HO_OK;
        }
        if (w->kind != r->kind)
                return compat_fail(c, "writer type \"%s\" cannot be read as \"%s\"", describe(w),
                                   describe(r));
        if ((w->kind == K_RECORD || w->kind == K_ENUM || w->kind == K_FIXED) &&
            strcmp(unqualified(w->fullname), unqualified(r->fullname)))
                return compat_fail(c, "writer's \"%s\" and reader's \"%s\" have different names",
                                   w->fullname, r->fullname);
        for (i = 0; i < c->n_pairs; i++)
                if (c->pairs[2 * i] == w && c->pairs[2 * i + 1] == r)
                        return HO_OK; /* already being checked (recursive type) */
        switch (w->kind) {
        case K_ARRAY:
                return compat_at(c, "items", w->child[0], r->child[0]);
        case K_MAP:
                return compat_at(c, "values", w->child[0], r->child[0]);
        case K_FIXED:
                if (w->size != r->size)
                        return compat_fail(c, "fixed \"%s\" changed size%s", w->fullname, "");
                return HO_OK;
        case K_ENUM:
                if (r->has_enum_default)
                        return HO_OK;
                for (i = 0; i < w->n; i++) {
                        for (k = 0; k < r->n; k++)
                                if (!strcmp(w->field_names[i], r->field_names[k]))
                                        break;
                        if (k == r->n)
                                return compat_fail(c,
                                                   "writer symbol \"%s\" is not in the "
                                                   "reader's enum \"%s\" (which has no default)",
                                                   w->field_names[i], r->fullname);
                }
                return HO_OK;
        case K_RECORD:
                if (c->n_pairs == c->cap_pairs) {
                        size_t cap = c->cap_pairs ? c->cap_pairs * 2 : 16;
                        const node_t **p = realloc(c->pairs, 2 * cap * sizeof(*p));
                        if (!p)
                                return ho_seterr(c->errstr, c->errstr_size, HO_ERR_NOMEM,
                                                 "out of memory");
                        c->pairs = p;
                        c->cap_pairs = cap;
                }
                c->pairs[2 * c->n_pairs] = w;
                c->pairs[2 * c->n_pairs + 1] = r;
                c->n_pairs++;
                for (k = 0; k < r->n; k++) {
                        for (i = 0; i < w->n; i++)
                                if (!strcmp(w->field_names[i], r->field_names[k]))
                                        break;
                        if (i == w->n) {
                                if (!r->defaults || !r->defaults[k])
                                        return compat_fail(c,
                                                           "reader field \"%s\" is not in the "
                                                           "writer's record \"%s\" and has no "
                                                           "default",
                                                           r->field_names[k], w->fullname);
                                /* the reader fills the field from it: it must fit the type
                                 * (not checked for the canonical form, which ignores defaults) */
                                if (!default_fits(r->child[k], r->defaults[k], 0))
                                        return compat_fail(c,
                                                           "the default of reader field \"%s\" "
                                                           "is not a value of its type%s",
                                                           r->field_names[k], "");
                                continue;
                        }
                        ho_err_t e = compat_at(c, r->field_names[k], w->child[i], r->child[k]);
                        if (e)
                                return e;
                }
                c->n_pairs--;
                return HO_OK;
        default:
                return compat_fail(c, "unexpected schema kind%s%s", "", "");
        }
}

static ho_err_t compat_trees(const tree_t *w, const tree_t *r, char *errstr, size_t errstr_size) {
        compat_t c;
        ho_err_t e;

        memset(&c, 0, sizeof(c));
        c.errstr = errstr;
        c.errstr_size = errstr_size;
        e = compat(&c, w->root, r->root);
        free(c.pairs);
        return e;
}

ho_err_t ho_schema_check_compat_json(const char *writer, size_t wlen, const char *reader,
                                     size_t rlen, char *errstr, size_t errstr_size) {
        tree_t tw, tr;
        ho_err_t e;

        if ((e = tree_parse(&tw, writer, wlen, errstr, errstr_size)))
                return e;
        if ((e = tree_parse(&tr, reader, rlen, errstr, errstr_size))) {
                tree_free(&tw);
                return e;
        }
        e = compat_trees(&tw, &tr, errstr, errstr_size);
        tree_free(&tw);
        tree_free(&tr);
        return e;
}

ho_err_t ho_schema_check_compat(avro_schema_t writer, avro_schema_t reader, char *errstr,
                                size_t errstr_size) {
        /* avro-c schemas keep no defaults: go through their JSON, where a
         * reader-only field therefore counts as having none. */
        const size_t cap = 1 << 20;
        char *wbuf = calloc(1, cap), *rbuf = calloc(1, cap);
        avro_writer_t ww = wbuf ? avro_writer_memory(wbuf, (int64_t)cap - 1) : NULL;
        avro_writer_t rw = rbuf ? avro_writer_memory(rbuf, (int64_t)cap - 1) : NULL;
        ho_err_t e = HO_OK;

        if (!ww || !rw || avro_schema_to_json(writer, ww) || avro_schema_to_json(reader, rw))
                e = ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA, "cannot write schema JSON: %s",
                              avro_strerror());
        if (!e)
                e = ho_schema_check_compat_json(wbuf, (size_t)avro_writer_tell(ww), rbuf,
                                                (size_t)avro_writer_tell(rw), errstr, errstr_size);
        if (ww)
                avro_writer_free(ww);
        if (rw)
                avro_writer_free(rw);
        free(wbuf);
        free(rbuf);
        return e;
}

ho_err_t ho_schema_entry_compat(const ho_schema_t *writer, const ho_schema_t *reader, char *errstr,
                                size_t errstr_size) {
        return ho_schema_check_compat_json(writer->json, strlen(writer->json), reader->json,
                                           strlen(reader->json), errstr, errstr_size);
}

/* ---- registry ------------------------------------------------------------ */

struct ho_schema_registry_s {
        ho_schema_t **v;
        size_t n, cap;
};

static void entry_free(ho_schema_t *s) {
        if (!s)
                return;
        free((char *)s->name);
        free(s->canonical);
        free(s->json);
        if (s->avro)
                avro_schema_decref(s->avro);
        free(s);
}

/* "transfer_report.vN.avsc" -> N, else 0. */
static int version_of(const char *name) {
        const char *p = name ? strstr(name, ".v") : NULL;
        char *end;
        long v;

        if (!p || strncmp(name, "transfer_report.v", 17))
                return 0;
        v = strtol(name + 17, &end, 10);
        if (end == name + 17 || strcmp(end, ".avsc") || v <= 0 || v > 1000000)
                return 0;
        return (int)v;
}

static ho_schema_t *entry_new(const char *name, const char *json, size_t len, char *errstr,
                              size_t errstr_size) {
        ho_schema_t *s = calloc(1, sizeof(*s));
        tree_t t;

        if (!s)
                goto nomem;
        s->name = strdup(name ? name : "(added)");
        s->json = strndup(json, len);
        if (!s->name || !s->json)
                goto nomem;
        s->version = version_of(name);
        if (tree_parse(&t, json, len, errstr, errstr_size)) {
                entry_free(s);
                return NULL;
        }
        s->canonical = tree_canonical(&t, errstr, errstr_size);
        tree_free(&t);
        if (!s->canonical) {
                entry_free(s);
                return NULL;
        }
        s->fingerprint = ho_crc64_avro(s->canonical, strlen(s->canonical));
        /* avro-c parses the canonical form: same data layout, no attributes it might trip on */
        if (avro_schema_from_json_length(s->canonical, strlen(s->canonical), &s->avro)) {
                s->avro = NULL;
                ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA, "avro-c rejects schema \"%s\": %s",
                          s->name, avro_strerror());
                entry_free(s);
                return NULL;
        }
        return s;
nomem:
        entry_free(s);
        ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
        return NULL;
}

static ho_err_t registry_put(ho_schema_registry_t *reg, ho_schema_t *s) {
        if (reg->n == reg->cap) {
                size_t cap = reg->cap ? reg->cap * 2 : 8;
                ho_schema_t **p = realloc(reg->v, cap * sizeof(*p));
                if (!p)
                        return HO_ERR_NOMEM;
                reg->v = p;
                reg->cap = cap;
        }
        reg->v[reg->n++] = s;
        return HO_OK;
}

ho_schema_registry_t *ho_schema_registry_new(char *errstr, size_t errstr_size) {
        ho_schema_registry_t *reg = calloc(1, sizeof(*reg));
        const ho_embedded_schema_t *e;
        char err[512];

        if (!reg) {
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        for (e = ho_embedded_schemas; e->name; e++) {
                ho_schema_t *s = entry_new(e->name, e->json, e->len, err, sizeof(err));
                if (!s) {
                        ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA, "schemas/%s: %s", e->name,
                                  err);
                        ho_schema_registry_destroy(reg);
                        return NULL;
                }
                if (ho_schema_registry_find(reg, s->fingerprint) || registry_put(reg, s)) {
                        ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA,
                                  "schemas/%s: same fingerprint as another schema", e->name);
                        entry_free(s);
                        ho_schema_registry_destroy(reg);
                        return NULL;
                }
        }
        if (!ho_schema_registry_newest(reg)) {
                ho_seterr(errstr, errstr_size, HO_ERR_SCHEMA,
                          "no transfer_report.vN.avsc among the embedded schemas");
                ho_schema_registry_destroy(reg);
                return NULL;
        }
        return reg;
}

void ho_schema_registry_destroy(ho_schema_registry_t *reg) {
        size_t i;

        if (!reg)
                return;
        for (i = 0; i < reg->n; i++)
                entry_free(reg->v[i]);
        free(reg->v);
        free(reg);
}

const ho_schema_t *ho_schema_registry_find(const ho_schema_registry_t *reg, uint64_t fp) {
        size_t i;

        for (i = 0; i < reg->n; i++)
                if (reg->v[i]->fingerprint == fp)
                        return reg->v[i];
        return NULL;
}

const ho_schema_t *ho_schema_registry_version(const ho_schema_registry_t *reg, int version) {
        size_t i;

        for (i = 0; i < reg->n; i++)
                if (version > 0 && reg->v[i]->version == version)
                        return reg->v[i];
        return NULL;
}

const ho_schema_t *ho_schema_registry_newest(const ho_schema_registry_t *reg) {
        const ho_schema_t *best = NULL;
        size_t i;

        for (i = 0; i < reg->n; i++)
                if (reg->v[i]->version > 0 && (!best || reg->v[i]->version > best->version))
                        best = reg->v[i];
        return best;
}

size_t ho_schema_registry_count(const ho_schema_registry_t *reg) {
        return reg->n;
}

const ho_schema_t *ho_schema_registry_at(const ho_schema_registry_t *reg, size_t i) {
        return i < reg->n ? reg->v[i] : NULL;
}

const ho_schema_t *ho_schema_registry_add(ho_schema_registry_t *reg, const char *json, size_t len,
                                          char *errstr, size_t errstr_size) {
        return ho_schema_registry_add_named(reg, NULL, json, len, errstr, errstr_size);
}

const ho_schema_t *ho_schema_registry_add_named(ho_schema_registry_t *reg, const char *name,
                                                const char *json, size_t len, char *errstr,
                                                size_t errstr_size) {
        ho_schema_t *s = entry_new(name, json, len, errstr, errstr_size);
        const ho_schema_t *old;

        if (!s)
                return NULL;
        old = ho_schema_registry_find(reg, s->fingerprint);
        if (old) {
                /* the same schema (e.g. schemas/transfer_report.v1.avsc given as a file) */
                entry_free(s);
                return old;
        }
        /* a file named like an existing version but with other content is
         * not that version */
        if (s->version && ho_schema_registry_version(reg, s->version))
                s->version = 0;
        if (registry_put(reg, s)) {
                entry_free(s);
                ho_seterr(errstr, errstr_size, HO_ERR_NOMEM, "out of memory");
                return NULL;
        }
        return s;
}
