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
#include "handover/redis.h"

const char *ho_env(const char *name, const char *def) {
        const char *v = getenv(name);
        return (v && *v) ? v : def;
}

bool ho_conf_key_is_secret(const char *key) {
        /* "user.info": the registry's basic.auth.user.info, USER:PASSWORD */
        static const char *const words[] = {"password", "secret", "user.info"};
        static const char *const keys[] = {"ssl.key.pem", "ssl_key", "sasl.oauthbearer.config"};
        char low[256];
        size_t n = 0;
        for (; key[n] && n < sizeof(low) - 1; n++)
                low[n] = (char)tolower((unsigned char)key[n]);
        low[n] = '\0';
        for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
                if (strstr(low, words[i]))
                        return true;
        for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
                if (!strcmp(low, keys[i]))
                        return true;
        return false;
}

/* rd_kafka_conf_set, with an error that shows the value only when it is not
 * a secret (librdkafka's own message quotes it). */
static ho_err_t conf_set_kv(rd_kafka_conf_t *conf, const char *key, const char *val,
                            const char *where, char *errstr, size_t errstr_size) {
        char rderr[512];
        rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, key, val, rderr, sizeof(rderr));
        if (res == RD_KAFKA_CONF_OK)
                return HO_OK;
        /* an unknown name may be a secret's, misspelt: its value is no help */
        if (res == RD_KAFKA_CONF_UNKNOWN)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "%s\"%s=...\": %s", where, key,
                                 rderr);
        if (ho_conf_key_is_secret(key))
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                 "%s\"%s=***\": librdkafka refused the value (not shown: a secret)",
                                 where, key);
        return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "%s\"%s=%s\": %s", where, key, val,
                         rderr);
}

ho_err_t ho_conf_kafka_set(rd_kafka_conf_t *conf, const char *kv, char *errstr,
                           size_t errstr_size) {
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv)
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "-X \"%s\": expected key=value",
                                 eq ? "=..." : kv);
        char key[256];
        size_t klen = (size_t)(eq - kv);
        if (klen >= sizeof(key))
                return ho_seterr(errstr, errstr_size, HO_ERR_USAGE, "-X: property name too long");
        memcpy(key, kv, klen);
        key[klen] = '\0';
        return conf_set_kv(conf, key, eq + 1, "-X ", errstr, errstr_size);
}

static char *trim(char *s) {
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
                char *s = trim(line);
                if (!*s || *s == '#' || *s == '!')
                        continue;
                char *eq = strchr(s, '=');
                if (!eq) {
                        /* the line's first word only: "sasl.password hunter2" must not
                         * end up in a log */
                        size_t w = strcspn(s, " \t:");
                        err = ho_seterr(errstr, errstr_size, HO_ERR_USAGE,
                                        "%s:%d: expected key=value, got \"%.*s%s\"", path, lineno,
                                        (int)w, s, s[w] ? " ..." : "");
                        break;
                }
                *eq = '\0';
                char *key = trim(s), *val = trim(eq + 1);
                char where[600];
                snprintf(where, sizeof(where), "%s:%d: ", path, lineno);
                if ((err = conf_set_kv(conf, key, val, where, errstr, errstr_size)))
                        break;
        }
        fclose(fp);
        return err;
}

ho_err_t ho_conf_kafka_prop(rd_kafka_conf_t *conf, const ho_conf_kprop_t *kp, char *errstr,
                            size_t errstr_size) {
        return kp->is_file ? ho_conf_kafka_file(conf, kp->value, errstr, errstr_size)
                           : ho_conf_kafka_set(conf, kp->value, errstr, errstr_size);
}

ho_err_t ho_conf_kafka_apply(rd_kafka_conf_t *conf, const ho_conf_kprop_t *kp, size_t n,
                             char *errstr, size_t errstr_size) {
        ho_err_t err = HO_OK;
        const char *def = ho_conf_kafka_default_file(kp, n);
        if (def && (err = ho_conf_kafka_file(conf, def, errstr, errstr_size)))
                return err;
        for (int files = 1; files >= 0; files--)
                for (size_t i = 0; !err && i < n; i++)
                        if (kp[i].is_file == (files == 1))
                                err = ho_conf_kafka_prop(conf, &kp[i], errstr, errstr_size);
        return err;
}

const char *ho_conf_kafka_default_file(const ho_conf_kprop_t *kp, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (kp[i].is_file)
                        return NULL;
        return ho_env("HANDOVER_KAFKA_CONFIG", NULL);
}

void ho_conf_hide_argv(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                char *a = argv[i];
                size_t len;
                /* a URL's password: redis://user:PASSWORD@host */
                size_t at = ho_redis_url_password_at(a, &len);
                if (strstr(a, "://") && len)
                        memset(a + at, '*', len);
                /* [-X]key=VALUE with a secret key */
                char *kv = !strncmp(a, "-X", 2) && a[2] ? a + 2 : a;
                char *eq = strchr(kv, '=');
                if (eq && eq > kv && eq - kv < 256 &&
                    strspn(kv,
                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                            (size_t)(eq - kv)) { /* a property name, not a path */
                        char key[256];
                        memcpy(key, kv, (size_t)(eq - kv));
                        key[eq - kv] = '\0';
                        if (ho_conf_key_is_secret(key))
                                memset(eq + 1, '*', strlen(eq + 1));
                }
        }
}

bool ho_kafka_err_is_auth(int err) {
        return err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL;
}

void ho_kafka_auth_format(int err, const char *reason, char *buf, size_t size) {
        if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION)
                snprintf(buf, size,
                         "kafka: authentication failed: %s (check sasl.mechanisms, sasl.username "
                         "and sasl.password; retrying will not help)",
                         reason);
        else
                snprintf(buf, size,
                         "kafka: TLS failed: %s (check ssl.ca.location and security.protocol; "
                         "retrying will not help)",
                         reason);
}

void ho_conf_kafka_list(FILE *fp) {
        rd_kafka_conf_properties_show(fp);
}

void ho_print_version(FILE *fp, const char *prog) {
        fprintf(fp, "%s (handover %s; librdkafka %s, avro-c %s, hiredis %d.%d.%d, jansson %s)\n",
                prog, HO_VERSION, rd_kafka_version_str(), HO_AVRO_VERSION, HIREDIS_MAJOR,
                HIREDIS_MINOR, HIREDIS_PATCH, JANSSON_VERSION);
}
