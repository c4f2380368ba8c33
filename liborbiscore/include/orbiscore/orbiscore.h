/*
 * Copyright (C) Orbis
 *
 * liborbiscore: the rules of the Orbis voice platform, with no I/O.
 * This header holds what every area shares: version, error reporting and
 * the few conventions the other headers rely on.
 *
 * Conventions
 *  - Every public name starts with orbis_ / ORBIS_.
 *  - Functions that can fail return an orbis_rc_t (ORBIS_OK on success) and,
 *    when given one, fill an orbis_err_t with a code and a message for people.
 *  - Ownership is explicit: a function that returns memory the caller must
 *    release says which orbis_*_free() releases it.  Time and randomness are
 *    passed in by the caller, so the library is deterministic under test.
 */

#ifndef ORBISCORE_H
#define ORBISCORE_H

#include <stddef.h>
#include <stdint.h>


#define ORBIS_VERSION_MAJOR  0
#define ORBIS_VERSION_MINOR  1
#define ORBIS_VERSION_PATCH  0
#define ORBIS_VERSION        "0.1.0"

/* the schema version (highest sql/NNNN_*.sql) this build needs */
#define ORBIS_SCHEMA_VERSION  8


typedef enum {
    ORBIS_OK = 0,
    ORBIS_ERR_INVALID,        /* bad input from a caller or a peer */
    ORBIS_ERR_NOMEM,
    ORBIS_ERR_RANGE,          /* too long, too big, out of range */
    ORBIS_ERR_AUTH,           /* signature, password or token refused */
    ORBIS_ERR_EXPIRED,
    ORBIS_ERR_NOT_FOUND,
    ORBIS_ERR_AGAIN,          /* need more input */
    ORBIS_ERR_PROTOCOL,       /* a peer broke its protocol */
    ORBIS_ERR_INTERNAL
} orbis_rc_t;


#define ORBIS_ERR_MSG_LEN  128

typedef struct {
    orbis_rc_t  code;
    char        msg[ORBIS_ERR_MSG_LEN];
} orbis_err_t;


/* a byte range the library reads but does not own */
typedef struct {
    const uint8_t  *data;
    size_t          len;
} orbis_slice_t;


const char *orbis_version(void);
const char *orbis_rc_name(orbis_rc_t rc);

/*
 * Fills err (when not NULL) and returns code, so that a failing path reads
 * "return orbis_err_set(err, ORBIS_ERR_INVALID, "bad %s", what);".
 */
orbis_rc_t orbis_err_set(orbis_err_t *err, orbis_rc_t code,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* constant-time comparison of two equally long byte strings: 1 if equal */
int orbis_ct_equal(const void *a, const void *b, size_t len);


#endif /* ORBISCORE_H */
