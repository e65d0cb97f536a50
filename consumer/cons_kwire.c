#include "cons_kwire.h"

#include <stdbool.h>
#include <string.h>

enum { API_FIND_COORDINATOR = 10, API_LEAVE_GROUP = 13 };
enum { STR_MAX = 255 };

/* --- writing ---------------------------------------------------------------------- */

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool ok;            /* false once anything did not fit */
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (!w->ok || n > w->cap - w->len) {
        w->ok = false;
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void put_i8(writer *w, int8_t v)
{
    uint8_t b = (uint8_t)v;
    put(w, &b, 1);
}

static void put_i16(writer *w, int16_t v)
{
    uint8_t b[2] = {(uint8_t)((uint16_t)v >> 8), (uint8_t)v};
    put(w, b, 2);
}

static void put_i32(writer *w, int32_t v)
{
    uint32_t u = (uint32_t)v;
    uint8_t b[4] = {(uint8_t)(u >> 24), (uint8_t)(u >> 16), (uint8_t)(u >> 8), (uint8_t)u};
    put(w, b, 4);
}

/* A STRING: int16 length, then the bytes. Names are capped well below int16's range. */
static void put_str(writer *w, const char *s)
{
    size_t n = strlen(s);
    if (n > STR_MAX) {
        w->ok = false;
        return;
    }
    put_i16(w, (int16_t)n);
    put(w, s, n);
}

/* The size prefix (filled in by finish) and request header v1: api key, version,
 * correlation id, client id. */
static writer start(uint8_t *buf, size_t cap, int16_t api, int16_t version, int32_t corr,
                    const char *client_id)
{
    writer w = {buf, cap, 0, true};
    put_i32(&w, 0);
    put_i16(&w, api);
    put_i16(&w, version);
    put_i32(&w, corr);
    put_str(&w, client_id);
    return w;
}

static size_t finish(writer *w)
{
    if (!w->ok)
        return 0;
    uint32_t size = (uint32_t)(w->len - 4);
    w->buf[0] = (uint8_t)(size >> 24);
    w->buf[1] = (uint8_t)(size >> 16);
    w->buf[2] = (uint8_t)(size >> 8);
    w->buf[3] = (uint8_t)size;
    return w->len;
}

size_t cons_kwire_find_coordinator(uint8_t *buf, size_t cap, int32_t correlation_id,
                                   const char *client_id, const char *group_id)
{
    writer w = start(buf, cap, API_FIND_COORDINATOR, 1, correlation_id, client_id);
    put_str(&w, group_id);                 /* key */
    put_i8(&w, 0);                         /* key_type 0: a group */
    return finish(&w);
}

size_t cons_kwire_leave_group(uint8_t *buf, size_t cap, int32_t correlation_id,
                              const char *client_id, const char *group_id,
                              const char *instance_id)
{
    writer w = start(buf, cap, API_LEAVE_GROUP, 3, correlation_id, client_id);
    put_str(&w, group_id);
    put_i32(&w, 1);                        /* members: one */
    put_str(&w, "");                       /* member_id unknown: look up by instance id */
    put_str(&w, instance_id);              /* group_instance_id */
    return finish(&w);
}

/* --- reading ---------------------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t left;
    bool ok;            /* false once a read ran past the end or met a bad length */
} reader;

static const uint8_t *take(reader *r, size_t n)
{
    if (!r->ok || n > r->left) {
        r->ok = false;
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += n;
    r->left -= n;
    return at;
}

static int16_t get_i16(reader *r)
{
    const uint8_t *b = take(r, 2);
    return b ? (int16_t)(uint16_t)((uint16_t)b[0] << 8 | b[1]) : 0;
}

static int32_t get_i32(reader *r)
{
    const uint8_t *b = take(r, 4);
    return b ? (int32_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3])
             : 0;
}

/* A STRING or NULLABLE_STRING (-1 = null, copied as ""), copied into out (cap > 0) when
 * out is not NULL; a string that does not fit there makes the read fail. */
static void get_str(reader *r, char *out, size_t cap, bool nullable)
{
    int16_t n = get_i16(r);
    if (n == -1 && nullable) {
        if (out)
            out[0] = '\0';
        return;
    }
    if (n < 0) {
        r->ok = false;
        return;
    }
    const uint8_t *s = take(r, (size_t)n);
    if (s == NULL || out == NULL)
        return;
    if ((size_t)n >= cap) {
        r->ok = false;
        return;
    }
    memcpy(out, s, (size_t)n);
    out[n] = '\0';
}

int cons_kwire_parse_coordinator(const uint8_t *body, size_t len, int32_t correlation_id,
                                 cons_kwire_coordinator *out)
{
    reader r = {body, len, true};
    if (get_i32(&r) != correlation_id || !r.ok)
        return -1;
    get_i32(&r);                                  /* throttle_time_ms */
    out->error_code = get_i16(&r);
    get_str(&r, NULL, 0, true);                   /* error_message */
    out->node_id = get_i32(&r);
    get_str(&r, out->host, sizeof out->host, false);
    out->port = get_i32(&r);
    return r.ok ? 0 : -1;
}

int cons_kwire_parse_leave(const uint8_t *body, size_t len, int32_t correlation_id,
                           int16_t *error_code)
{
    reader r = {body, len, true};
    if (get_i32(&r) != correlation_id || !r.ok)
        return -1;
    get_i32(&r);                                  /* throttle_time_ms */
    *error_code = get_i16(&r);
    int32_t n = get_i32(&r);
    if (n < 0)
        return -1;
    for (int32_t i = 0; i < n && r.ok; i++) {
        get_str(&r, NULL, 0, false);              /* member_id */
        get_str(&r, NULL, 0, true);               /* group_instance_id */
        int16_t member_error = get_i16(&r);
        if (*error_code == 0)
            *error_code = member_error;
    }
    return r.ok ? 0 : -1;
}
