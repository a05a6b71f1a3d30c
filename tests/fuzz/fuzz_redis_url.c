/*
 * fuzz_redis_url.c: libFuzzer target for the Redis URL parser and its
 * redaction, which see whatever an operator typed, typos and all. Whatever
 * the input: the redacted copy is the input with exactly the password span
 * (ho_redis_url_password_at) replaced by "***"; a parsed password comes from
 * that span; an error message quotes the URL only as that redacted copy; and
 * the display form is the same whatever the password is.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "handover/redis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 800) /* the messages' buffers hold the whole URL */
                return 0;
        char *url = malloc(size + 1);
        if (!url)
                return 0;
        memcpy(url, data, size);
        url[size] = '\0'; /* a NUL inside ends the string, as it would in argv */
        size_t n = strlen(url), len, at = ho_redis_url_password_at(url, &len);
        if (at > n || len > n - at)
                abort();

        char red[4096], want[4096];
        ho_redis_url_redact(url, red, sizeof(red));
        if (at == 0 && len == 0)
                memcpy(want, url, n + 1);
        else
                snprintf(want, sizeof(want), "%.*s***%s", (int)at, url, url + at + len);
        if (strcmp(red, want))
                abort();

        ho_redis_url_t u;
        char err[1024];
        if (ho_redis_url_parse(url, &u, err, sizeof(err)) == HO_OK) {
                /* percent-decoding only shortens */
                if (u.password && strlen(u.password) > len)
                        abort();
                /* the display form does not depend on what the password is */
                char *d = ho_redis_url_display(&u), *saved = u.password;
                char other[] = "x";
                if (saved)
                        u.password = other;
                char *d2 = ho_redis_url_display(&u);
                u.password = saved;
                if (d && d2 && strcmp(d, d2))
                        abort();
                free(d);
                free(d2);
                ho_redis_url_clear(&u);
        } else if (n > 0) {
                /* 'Redis URL "<redacted>": what is wrong', and nothing else of the URL */
                char head[4200];
                snprintf(head, sizeof(head), "Redis URL \"%s\": ", red);
                if (strncmp(err, head, strlen(head)))
                        abort();
        }
        free(url);
        return 0;
}
