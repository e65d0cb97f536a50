/*
 * cons_sreg.h — a client of the Confluent Schema Registry REST API (CONTRACT §2), enough
 * for a worker and its tools: fetch a schema by id, register a schema under a subject,
 * look a schema up in a subject. libcurl for HTTP (basic auth, TLS), jansson for JSON.
 *
 * Any Confluent-compatible server works: Confluent's own, Apicurio Registry's ccompat API
 * (base URL ending in /apis/ccompat/v7), Karapace, Redpanda. The base URL is the one the
 * Confluent clients take (`schema.registry.url`); the paths below are appended to it.
 *
 *   GET  /schemas/ids/{id}              cons_sreg_schema_by_id
 *   POST /subjects/{subject}/versions   cons_sreg_register
 *   POST /subjects/{subject}            cons_sreg_lookup
 *
 * Retries: a request that fails on the wire (connection refused, timeout, TLS), or that
 * the server answers 5xx or 429, is retried with backoff (0.2 s doubling to 5 s) until
 * the options' retry deadline; then the call returns CONS_SREG_UNAVAILABLE. Other 4xx
 * answers are final: 404 is CONS_SREG_NOT_FOUND; 401 and 403 are CONS_SREG_UNAVAILABLE
 * at once (a client that may not read the registry cannot judge a record either); the
 * rest CONS_SREG_REFUSED.
 *
 * Secrets: the password (and any user:password@ in the URL) never appears in an error
 * message or a log line; messages name the URL without its user info.
 *
 * Threads: a cons_sreg belongs to one thread at a time. curl_global_init is called by
 * cons_sreg_new (once per process; not thread-safe before libcurl 7.84, so create the
 * first client before starting threads).
 */
#ifndef CONS_SREG_H
#define CONS_SREG_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    CONS_SREG_OK = 0,
    CONS_SREG_NOT_FOUND,    /* 404: no such id, subject or version */
    CONS_SREG_REFUSED,      /* another 4xx (bad schema, auth, incompatible): final */
    CONS_SREG_UNAVAILABLE   /* unreachable or 5xx past the retry deadline, stopped, or
                               401/403 (not retried) */
} cons_sreg_status;

typedef struct {
    const char *url;                   /* base URL, required */
    const char *user;                  /* basic auth; NULL or "" for none */
    const char *password;              /* secret */
    const char *ca_location;           /* PEM CA bundle; NULL or "" for the system's */
    const char *certificate_location;  /* client certificate (mTLS); NULL or "" for none */
    const char *key_location;          /* its private key */
    bool tls_verify;                   /* verify peer and host name */
    int timeout_ms;                    /* one request */
    int retry_deadline_ms;             /* retries of one call, 0: a single attempt */
    const volatile sig_atomic_t *stop; /* optional: set → retries end (UNAVAILABLE) */
} cons_sreg_options;

typedef struct cons_sreg cons_sreg;

/*
 * Creates a client; sends nothing yet. The option strings are copied.
 * @returns the client, owned by the caller (cons_sreg_destroy), or NULL with a sentence
 *          in err (no URL, not http(s), out of memory).
 */
cons_sreg *cons_sreg_new(const cons_sreg_options *o, char *err, size_t errcap);

/* Frees the client. NULL is a no-op. */
void cons_sreg_destroy(cons_sreg *c);

/* @returns the base URL without user info, for messages (owned by the client). */
const char *cons_sreg_display_url(const cons_sreg *c);

/*
 * GET /schemas/ids/{id}. On OK *schema_out is the schema text (malloc'd, the caller
 * frees it). A schema whose schemaType is not AVRO is REFUSED.
 */
cons_sreg_status cons_sreg_schema_by_id(cons_sreg *c, uint32_t id, char **schema_out,
                                        char *err, size_t errcap);

/* POST /subjects/{subject}/versions {"schema": schema}: registers it (or finds it, if the
 * subject has it already) and gives its id. */
cons_sreg_status cons_sreg_register(cons_sreg *c, const char *subject, const char *schema,
                                    uint32_t *id_out, char *err, size_t errcap);

/* POST /subjects/{subject} {"schema": schema}: the id of that schema in the subject;
 * NOT_FOUND when the subject or the schema in it does not exist. */
cons_sreg_status cons_sreg_lookup(cons_sreg *c, const char *subject, const char *schema,
                                  uint32_t *id_out, char *err, size_t errcap);

/* @returns "OK", "NOT_FOUND", "REFUSED" or "UNAVAILABLE". */
const char *cons_sreg_status_name(cons_sreg_status st);

#endif
