/*
 * cons_sreg.c — the Confluent Schema Registry REST client (see cons_sreg.h).
 */
#include "cons_sreg.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_MAX (8u << 20)       /* a registry answer over 8 MiB is not a schema */
#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 5000
#define CONTENT_TYPE "Content-Type: application/vnd.schemaregistry.v1+json"
#define ACCEPT "Accept: application/vnd.schemaregistry.v1+json, application/json"

/* libcurl, loaded with dlopen when the first client is made, not linked: it brings two
 * dozen shared objects (GnuTLS, Kerberos, LDAP, SSH, ...) that cost every worker about
 * 4 MB of RSS, and only a worker with schema.registry.url uses it. Loaded once and never
 * unloaded; the table is written before the first client exists and only read after. */
static struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *curl);
    void (*easy_reset)(CURL *curl);
    char *(*easy_escape)(CURL *curl, const char *string, int length);
    const char *(*easy_strerror)(CURLcode code);
    void (*free)(void *p);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
    void (*slist_free_all)(struct curl_slist *list);
} cu;

#define CURL_SONAME "libcurl.so.4"

struct cons_sreg {
    CURL *curl;
    struct curl_slist *headers;
    char *url;          /* base, no trailing '/' */
    char *display;      /* base without user info */
    char *user, *password, *ca, *cert, *key;
    bool tls_verify;
    int timeout_ms, retry_deadline_ms;
    const volatile sig_atomic_t *stop;
};

typedef struct {
    char *data;
    size_t len;
    bool too_big;
} body;

static void errf(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errcap, const char *fmt, ...)
{
    if (err == NULL || errcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms, or less when a signal sets *stop. */
static void sleep_ms(int ms, const volatile sig_atomic_t *stop)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !(stop != NULL && *stop))
        ;
}

const char *cons_sreg_status_name(cons_sreg_status st)
{
    switch (st) {
    case CONS_SREG_OK: return "OK";
    case CONS_SREG_NOT_FOUND: return "NOT_FOUND";
    case CONS_SREG_REFUSED: return "REFUSED";
    case CONS_SREG_UNAVAILABLE: return "UNAVAILABLE";
    }
    return "?";
}

/* "" and NULL both mean unset. @returns a copy, NULL for unset; *oom on failure. */
static char *dup_opt(const char *s, bool *oom)
{
    if (s == NULL || s[0] == '\0')
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *oom = true;
    return d;
}

/* "https://u:p@host:8081/x/" → "https://host:8081/x". */
static char *strip_user_info(const char *url)
{
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end ? scheme_end + 3 : url;
    const char *slash = strchr(host, '/');
    const char *at = strchr(host, '@');
    size_t skip = 0;
    if (at != NULL && (slash == NULL || at < slash))
        skip = (size_t)(at + 1 - host);
    size_t head = (size_t)(host - url);
    char *out = malloc(strlen(url) + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, url, head);
    strcpy(out + head, host + skip);
    return out;
}

/* Loads libcurl and initialises it, once. @returns 0, or -1 with err set. */
static int curl_load(char *err, size_t errcap)
{
    static bool loaded;
    if (loaded)
        return 0;
    void *so = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (so == NULL) {
        errf(err, errcap, "schema.registry.url needs %s (Debian: libcurl4): %s", CURL_SONAME,
             dlerror());
        return -1;
    }
    const struct {
        const char *name;
        void **fn;
    } syms[] = {
        {"curl_global_init", (void **)&cu.global_init},
        {"curl_easy_init", (void **)&cu.easy_init},
        {"curl_easy_setopt", (void **)&cu.easy_setopt},
        {"curl_easy_perform", (void **)&cu.easy_perform},
        {"curl_easy_getinfo", (void **)&cu.easy_getinfo},
        {"curl_easy_cleanup", (void **)&cu.easy_cleanup},
        {"curl_easy_reset", (void **)&cu.easy_reset},
        {"curl_easy_escape", (void **)&cu.easy_escape},
        {"curl_easy_strerror", (void **)&cu.easy_strerror},
        {"curl_free", (void **)&cu.free},
        {"curl_slist_append", (void **)&cu.slist_append},
        {"curl_slist_free_all", (void **)&cu.slist_free_all},
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++)
        if ((*syms[i].fn = dlsym(so, syms[i].name)) == NULL) {
            errf(err, errcap, "%s lacks %s", CURL_SONAME, syms[i].name);
            return -1;                          /* `so` stays loaded: harmless, and rare */
        }
    if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        errf(err, errcap, "cannot initialise libcurl");
        return -1;
    }
    loaded = true;   /* never cleaned up: other clients may follow */
    return 0;
}

cons_sreg *cons_sreg_new(const cons_sreg_options *o, char *err, size_t errcap)
{
    cons_sreg *c = NULL;
    bool oom = false;

    if (o == NULL || o->url == NULL || o->url[0] == '\0') {
        errf(err, errcap, "schema.registry.url is empty");
        goto fail;
    }
    if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0) {
        errf(err, errcap, "schema.registry.url must start with http:// or https://");
        goto fail;
    }
    if (curl_load(err, errcap))
        goto fail;
    if ((c = calloc(1, sizeof *c)) == NULL) {
        errf(err, errcap, "out of memory");
        goto fail;
    }
    c->url = dup_opt(o->url, &oom);
    c->display = c->url ? strip_user_info(c->url) : NULL;
    c->user = dup_opt(o->user, &oom);
    c->password = dup_opt(o->password, &oom);
    c->ca = dup_opt(o->ca_location, &oom);
    c->cert = dup_opt(o->certificate_location, &oom);
    c->key = dup_opt(o->key_location, &oom);
    c->tls_verify = o->tls_verify;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
    c->retry_deadline_ms = o->retry_deadline_ms > 0 ? o->retry_deadline_ms : 0;
    c->stop = o->stop;
    c->curl = cu.easy_init();
    struct curl_slist *h = cu.slist_append(NULL, ACCEPT);
    c->headers = h ? cu.slist_append(h, CONTENT_TYPE) : NULL;
    if (c->headers == NULL && h != NULL)
        cu.slist_free_all(h);
    if (oom || c->display == NULL || c->curl == NULL || c->headers == NULL) {
        errf(err, errcap, "out of memory");
        goto fail;
    }
    size_t n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/')
        c->url[--n] = '\0';
    n = strlen(c->display);
    while (n > 0 && c->display[n - 1] == '/')
        c->display[--n] = '\0';
    return c;
fail:
    cons_sreg_destroy(c);
    return NULL;
}

void cons_sreg_destroy(cons_sreg *c)
{
    if (c == NULL)
        return;
    if (c->curl)
        cu.easy_cleanup(c->curl);
    cu.slist_free_all(c->headers);
    free(c->url);
    free(c->display);
    free(c->user);
    if (c->password) /* do not leave the secret in freed memory */
        memset(c->password, 0, strlen(c->password));
    free(c->password);
    free(c->ca);
    free(c->cert);
    free(c->key);
    free(c);
}

const char *cons_sreg_display_url(const cons_sreg *c)
{
    return c ? c->display : "";
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    body *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > BODY_MAX) {
        b->too_big = true;
        return 0;   /* aborts the transfer */
    }
    char *grown = realloc(b->data, b->len + n + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + b->len, ptr, n);
    b->data = grown;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* The "message" of a Confluent error body, or the body's start, for messages. */
static void error_text(const body *b, char *out, size_t cap)
{
    out[0] = '\0';
    if (b->data == NULL)
        return;
    json_t *j = json_loadb(b->data, b->len, 0, NULL);
    const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;
    snprintf(out, cap, "%.200s", m ? m : b->data);
    json_decref(j);
}

/* One attempt. @returns the curl code; *status is the HTTP status (0 if none). */
static CURLcode attempt(cons_sreg *c, const char *url, const char *post, body *b, long *status)
{
    CURL *k = c->curl;
    cu.easy_reset(k);
    cu.easy_setopt(k, CURLOPT_URL, url);
    cu.easy_setopt(k, CURLOPT_HTTPHEADER, c->headers);
    cu.easy_setopt(k, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    cu.easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    cu.easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    cu.easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
    cu.easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
    cu.easy_setopt(k, CURLOPT_WRITEDATA, b);
    if (post != NULL)
        cu.easy_setopt(k, CURLOPT_POSTFIELDS, post);
    if (c->user != NULL) {
        cu.easy_setopt(k, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        cu.easy_setopt(k, CURLOPT_USERNAME, c->user);
        cu.easy_setopt(k, CURLOPT_PASSWORD, c->password ? c->password : "");
    }
    if (c->ca != NULL)
        cu.easy_setopt(k, CURLOPT_CAINFO, c->ca);
    if (c->cert != NULL)
        cu.easy_setopt(k, CURLOPT_SSLCERT, c->cert);
    if (c->key != NULL)
        cu.easy_setopt(k, CURLOPT_SSLKEY, c->key);
    cu.easy_setopt(k, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
    cu.easy_setopt(k, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
    CURLcode rc = cu.easy_perform(k);
    *status = 0;
    cu.easy_getinfo(k, CURLINFO_RESPONSE_CODE, status);
    return rc;
}

/*
 * One call with retries: path is appended to the base URL, post is the JSON body (NULL:
 * GET). On OK *out is the parsed answer (the caller decrefs it).
 */
static cons_sreg_status call(cons_sreg *c, const char *path, const char *post, json_t **out,
                             char *err, size_t errcap)
{
    cons_sreg_status st = CONS_SREG_UNAVAILABLE;
    char url[2048], why[256] = "";
    int64_t deadline = mono_ms() + c->retry_deadline_ms;
    int backoff = BACKOFF_FIRST_MS;
    int attempts = 0;

    *out = NULL;
    if ((size_t)snprintf(url, sizeof url, "%s%s", c->url, path) >= sizeof url) {
        errf(err, errcap, "registry URL too long: %s%s", c->display, path);
        return CONS_SREG_REFUSED;
    }
    for (;;) {
        body b = {0};
        long status = 0;
        CURLcode rc = attempt(c, url, post, &b, &status);
        attempts++;
        if (rc == CURLE_OK && status >= 200 && status < 300) {
            json_error_t je;
            *out = json_loadb(b.data ? b.data : "", b.len, 0, &je);
            if (*out == NULL) {
                errf(err, errcap, "%s%s: the answer is not JSON: %s", c->display, path,
                     je.text);
                st = CONS_SREG_REFUSED;
            } else {
                st = CONS_SREG_OK;
            }
            free(b.data);
            return st;
        }
        bool retry = rc != CURLE_OK || status >= 500 || status == 429;
        bool denied = rc == CURLE_OK && (status == 401 || status == 403);
        if (rc != CURLE_OK)
            snprintf(why, sizeof why, "%s", b.too_big ? "answer over 8 MiB" :
                     cu.easy_strerror(rc));
        else {
            char msg[220];
            error_text(&b, msg, sizeof msg);
            snprintf(why, sizeof why, "HTTP %ld%s%s", status, msg[0] ? ": " : "", msg);
        }
        free(b.data);
        if (!retry || b.too_big) {
            errf(err, errcap, "%s%s: %s%s", c->display, path, why,
                 denied ? " (check schema.registry.user and .password)" : "");
            return status == 404 ? CONS_SREG_NOT_FOUND
                   : denied      ? CONS_SREG_UNAVAILABLE
                                 : CONS_SREG_REFUSED;
        }
        int64_t left = deadline - mono_ms();
        if (left <= 0 || (c->stop != NULL && *c->stop))
            break;
        sleep_ms(backoff < left ? backoff : (int)left, c->stop);
        backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
    }
    errf(err, errcap, "%s%s: registry unavailable after %d attempt%s in %d ms: %s", c->display,
         path, attempts, attempts == 1 ? "" : "s", c->retry_deadline_ms, why);
    return st;
}

cons_sreg_status cons_sreg_schema_by_id(cons_sreg *c, uint32_t id, char **schema_out,
                                        char *err, size_t errcap)
{
    char path[64];
    json_t *j = NULL;

    *schema_out = NULL;
    snprintf(path, sizeof path, "/schemas/ids/%" PRIu32, id);
    cons_sreg_status st = call(c, path, NULL, &j, err, errcap);
    if (st != CONS_SREG_OK)
        return st;
    const char *type = json_string_value(json_object_get(j, "schemaType"));
    const char *schema = json_string_value(json_object_get(j, "schema"));
    if (type != NULL && strcmp(type, "AVRO") != 0) {
        errf(err, errcap, "%s%s: schema id %" PRIu32 " is %s, not AVRO", c->display, path, id,
             type);
        st = CONS_SREG_REFUSED;
    } else if (schema == NULL) {
        errf(err, errcap, "%s%s: the answer has no \"schema\" string", c->display, path);
        st = CONS_SREG_REFUSED;
    } else if ((*schema_out = strdup(schema)) == NULL) {
        errf(err, errcap, "out of memory");
        st = CONS_SREG_REFUSED;
    }
    json_decref(j);
    return st;
}

/* POST {"schema": schema} to /subjects/{subject}{suffix}; the answer's "id". */
static cons_sreg_status post_schema(cons_sreg *c, const char *subject, const char *suffix,
                                    const char *schema, uint32_t *id_out, char *err,
                                    size_t errcap)
{
    cons_sreg_status st = CONS_SREG_REFUSED;
    char *escaped = cu.easy_escape(c->curl, subject, 0);
    char *text = NULL;
    json_t *req = json_pack("{s:s}", "schema", schema), *ans = NULL;
    char path[1024];

    if (escaped == NULL || req == NULL || (text = json_dumps(req, JSON_COMPACT)) == NULL) {
        errf(err, errcap, "out of memory");
        goto done;
    }
    if ((size_t)snprintf(path, sizeof path, "/subjects/%s%s", escaped, suffix) >= sizeof path) {
        errf(err, errcap, "subject name too long: %.100s", subject);
        goto done;
    }
    st = call(c, path, text, &ans, err, errcap);
    if (st != CONS_SREG_OK)
        goto done;
    json_t *id = json_object_get(ans, "id");
    if (!json_is_integer(id) || json_integer_value(id) < 0 ||
        json_integer_value(id) > (json_int_t)UINT32_MAX) {
        errf(err, errcap, "%s%s: the answer has no schema id", c->display, path);
        st = CONS_SREG_REFUSED;
        goto done;
    }
    *id_out = (uint32_t)json_integer_value(id);
done:
    json_decref(ans);
    json_decref(req);
    free(text);
    cu.free(escaped);
    return st;
}

cons_sreg_status cons_sreg_register(cons_sreg *c, const char *subject, const char *schema,
                                    uint32_t *id_out, char *err, size_t errcap)
{
    return post_schema(c, subject, "/versions", schema, id_out, err, errcap);
}

cons_sreg_status cons_sreg_lookup(cons_sreg *c, const char *subject, const char *schema,
                                  uint32_t *id_out, char *err, size_t errcap)
{
    return post_schema(c, subject, "", schema, id_out, err, errcap);
}
