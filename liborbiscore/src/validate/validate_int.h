/*
 * Copyright (C) Orbis
 *
 * Internals of the validate area: field rules that the JSON body parsers,
 * the tenants file parser and the password rules share.  Hidden, so they
 * never leave liborbiscore.so.
 *
 * Every check takes the field name and fills err with "<field>: <problem>",
 * a message fit to show to whoever sent the value.
 */

#ifndef ORBIS_VALIDATE_INT_H
#define ORBIS_VALIDATE_INT_H

#include <jansson.h>

#include <orbiscore/utf8.h>
#include <orbiscore/validate.h>


#define ORBIS_VALIDATE_HIDDEN  __attribute__((visibility("hidden")))


/* orbis_vtext_check() flags */
#define ORBIS_VTEXT_BYTES      0x01     /* max counts bytes, not characters */
#define ORBIS_VTEXT_MULTILINE  0x02     /* tab, CR and LF are allowed */


/*
 * A value check that may rewrite the value into a canonical form: on
 * ORBIS_OK *out is a malloc'd NUL-terminated string the caller owns.
 */
typedef orbis_rc_t (*orbis_vcheck_pt)(const char *field, const char *s,
    size_t len, const void *ctx, char **out, orbis_err_t *err);


/* a NUL-terminated malloc'd copy, NULL when out of memory */
char *orbis_vstrdup(const char *s, size_t len) ORBIS_VALIDATE_HIDDEN;

/* narrows s to drop leading and trailing ASCII white space */
void orbis_vtrim(const char **s, size_t *len) ORBIS_VALIDATE_HIDDEN;

/*
 * Writes ' "value"' into buf when value is short printable ASCII, else an
 * empty string, so that messages echo input only when it is harmless.
 */
const char *orbis_vquote(const char *s, size_t len, char *buf, size_t size)
    ORBIS_VALIDATE_HIDDEN;

/* valid UTF-8, no control characters, min..max characters (or bytes) */
orbis_rc_t orbis_vtext_check(const char *field, const char *s, size_t len,
    size_t min, size_t max, unsigned flags, orbis_err_t *err)
    ORBIS_VALIDATE_HIDDEN;

/* canonical form: trimmed and lower-cased */
orbis_rc_t orbis_vemail(const char *field, const char *s, size_t len,
    const void *ctx, char **out, orbis_err_t *err) ORBIS_VALIDATE_HIDDEN;

/* canonical form: "en", "en-US", "zh-Hant-TW" case */
orbis_rc_t orbis_vlanguage(const char *field, const char *s, size_t len,
    const void *ctx, char **out, orbis_err_t *err) ORBIS_VALIDATE_HIDDEN;

/* canonical form: see orbis_origin_normalize() */
orbis_rc_t orbis_vorigin(const char *field, const char *s, size_t len,
    const void *ctx, char **out, orbis_err_t *err) ORBIS_VALIDATE_HIDDEN;

/* canonical form: lower case */
orbis_rc_t orbis_vuuid(const char *field, const char *s, size_t len,
    const void *ctx, char **out, orbis_err_t *err) ORBIS_VALIDATE_HIDDEN;

/* ctx is an orbis_vtools_t; the value is copied as it is */
orbis_rc_t orbis_vtool(const char *field, const char *s, size_t len,
    const void *ctx, char **out, orbis_err_t *err) ORBIS_VALIDATE_HIDDEN;

/* voice names are case-sensitive: nothing to rewrite */
orbis_rc_t orbis_vvoice(const char *field, const char *s, size_t len,
    orbis_err_t *err) ORBIS_VALIDATE_HIDDEN;

typedef struct {
    const char *const  *names;
    size_t              n;
} orbis_vtools_t;


/* lists of owned strings, as the public structs hold them */

/* appends s, taking it over (it is freed if the list cannot grow) */
orbis_rc_t orbis_vlist_add(char ***items, size_t *n, char *s)
    ORBIS_VALIDATE_HIDDEN;
int orbis_vlist_has(char *const *items, size_t n, const char *s)
    ORBIS_VALIDATE_HIDDEN;
void orbis_vlist_free(char **items, size_t n) ORBIS_VALIDATE_HIDDEN;


/* JSON bodies */

/*
 * Parses body, which must be one JSON object with no duplicate keys and
 * no member whose name is not in the NULL-terminated list known; *root is
 * a new reference the caller json_decref()s (NULL on failure).
 */
orbis_rc_t orbis_vjson_load(const char *body, size_t len,
    const char *const *known, json_t **root, orbis_err_t *err)
    ORBIS_VALIDATE_HIDDEN;

/* 1 when the member is present and JSON null */
int orbis_vjson_null(json_t *obj, const char *field) ORBIS_VALIDATE_HIDDEN;

/*
 * Refuses null for a member that must hold a value, with a message that
 * says what to do instead: leave it out (partial) or send a value.
 */
orbis_rc_t orbis_vjson_not_null(json_t *obj, const char *field, int partial,
    orbis_err_t *err) ORBIS_VALIDATE_HIDDEN;

/* *s is NULL when the member is absent and not required */
orbis_rc_t orbis_vjson_str(json_t *obj, const char *field, int required,
    const char **s, size_t *len, orbis_err_t *err) ORBIS_VALIDATE_HIDDEN;

/*
 * A display name: trimmed, 1..ORBIS_NAME_MAX characters on one line, into
 * a malloc'd *out.  *out stays NULL when the member is absent, or present
 * but blank and allow_empty is set.
 */
orbis_rc_t orbis_vjson_name(json_t *obj, const char *field, int required,
    int allow_empty, char **out, orbis_err_t *err) ORBIS_VALIDATE_HIDDEN;

/* *present is 0 when absent; an integer within min..max otherwise */
orbis_rc_t orbis_vjson_int(json_t *obj, const char *field, int64_t min,
    int64_t max, int *present, int64_t *v, orbis_err_t *err)
    ORBIS_VALIDATE_HIDDEN;

/*
 * An optional array of at most max distinct strings, each passed through
 * check; the canonical forms land in *items.  *present is 0 if absent.
 */
orbis_rc_t orbis_vjson_list(json_t *obj, const char *field, size_t max,
    orbis_vcheck_pt check, const void *ctx, int *present, char ***items,
    size_t *n, orbis_err_t *err) ORBIS_VALIDATE_HIDDEN;


#endif /* ORBIS_VALIDATE_INT_H */
