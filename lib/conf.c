/* conf.c: kcat-style configuration: -X key=value, -c FILE, HANDOVER_* env. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <avro.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include "handover/conf.h"

const char *ho_env(const char *name, const char *def) {
        const char *v = getenv(name);
        return (v && *v) ? v : def;
}

ho_err_t ho_conf_kafka_set(rd_kafka_conf_t *conf, const char *kv, char *errstr,
                           size_t errstr_size) {
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "expected key=value, got \"%s\"", kv);
        char key[256];
        size_t klen = (size_t)(eq - kv);
        if (klen >= sizeof(key))
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "property name too long");
        memcpy(key, kv, klen);
        key[klen] = '\0';
        char rderr[512];
        if (rd_kafka_conf_set(conf, key, eq + 1, rderr, sizeof(rderr)) != RD_KAFKA_CONF_OK)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "%s", rderr);
        return HO_OK;
}

static char *ho_trim(char *s) {
        while (isspace((unsigned char)*s))
                s++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
                *--e = '\0';
        return s;
}

ho_err_t ho_conf_kafka_file(rd_kafka_conf_t *conf, const char *path, char *errstr,
                            size_t errstr_size) {
        FILE *fp = fopen(path, "r");
        if (!fp)
                return ho_seterr(errstr, errstr_size, HO_ERR_IO, "cannot open \"%s\": %s", path,
                                 strerror(errno));
        char line[4096];
        int lineno = 0;
        ho_err_t err = HO_OK;
        while (fgets(line, sizeof(line), fp)) {
                lineno++;
                char *s = ho_trim(line);
                if (!*s || *s == '#' || *s == '!')
                        continue;
                char *eq = strchr(s, '=');
                if (!eq) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                        "%s:%d: expected key=value, got \"%s\"", path, lineno, s);
                        break;
                }
                *eq = '\0';
                char *key = ho_trim(s), *val = ho_trim(eq + 1);
                char rderr[512];
                if (rd_kafka_conf_set(conf, key, val, rderr, sizeof(rderr)) != RD_KAFKA_CONF_OK) {
                        err = ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "%s:%d: %s", path,
                                        lineno, rderr);
                        break;
                }
        }
        fclose(fp);
        return err;
}

void ho_conf_kafka_list(FILE *fp) {
        rd_kafka_conf_properties_show(fp);
}

void ho_print_version(FILE *fp, const char *prog) {
        fprintf(fp, "%s (handover %s; librdkafka %s, avro-c %s, hiredis %d.%d.%d, jansson %s)\n",
                prog, HO_VERSION, rd_kafka_version_str(), HO_AVRO_VERSION,
                HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH, JANSSON_VERSION);
}
