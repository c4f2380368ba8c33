/*
 * Copyright (C) Orbis
 *
 * Internals of the tenants file parser: a lexer that hands out one
 * directive (name, values, terminator) at a time, the block parsers
 * (tenant, api_key, agent), the value helpers they share and the
 * destructors used on half-built entries.  Hidden from liborbiscore.so.
 */

#ifndef ORBIS_TENANTS_INT_H
#define ORBIS_TENANTS_INT_H

#include <orbiscore/tenants.h>

#include "validate/validate_int.h"


#define ORBIS_TENANTS_HIDDEN  __attribute__((visibility("hidden")))

/* the most words one directive may have, its name included */
#define ORBIS_TSTMT_MAX  64


typedef struct {
    const char  *p;
    const char  *end;
    unsigned     line;
} orbis_tlex_t;

typedef struct {
    char      *value;           /* malloc'd, unescaped, NUL-terminated */
    size_t     len;
    unsigned   line;
    int        quoted;
} orbis_targ_t;

/* what ended a directive */
typedef enum {
    ORBIS_TEND_SEMI,            /* name values ;  */
    ORBIS_TEND_BLOCK,           /* name values {  */
    ORBIS_TEND_CLOSE,           /* }  (no words)  */
    ORBIS_TEND_EOF              /* end of text (no words) */
} orbis_tend_e;

typedef struct {
    orbis_targ_t   args[ORBIS_TSTMT_MAX];  /* args[0] is the name */
    size_t         nargs;
    orbis_tend_e   end;
    unsigned       line;        /* of the name, or of the "}" / the end */
} orbis_tstmt_t;


/*
 * Refuses text that is not UTF-8 or holds control characters other than
 * tab, CR and LF; err->msg gets "line N: ..." and *line N.
 */
orbis_rc_t orbis_tlex_check(const char *text, size_t len, unsigned *line,
    orbis_err_t *err) ORBIS_TENANTS_HIDDEN;

/*
 * Reads the next directive into st (cleared first).  Errors as above.
 * st holds memory until orbis_tstmt_clear().
 */
orbis_rc_t orbis_tlex_next(orbis_tlex_t *lx, orbis_tstmt_t *st,
    unsigned *line, orbis_err_t *err) ORBIS_TENANTS_HIDDEN;

void orbis_tstmt_clear(orbis_tstmt_t *st) ORBIS_TENANTS_HIDDEN;

/* "seen" bits, one per directive of a block */
#define ORBIS_T_NAME       0x0001
#define ORBIS_T_PLAN       0x0002
#define ORBIS_T_BILLING    0x0004
#define ORBIS_T_ORIGINS    0x0008
#define ORBIS_T_KIND       0x0010
#define ORBIS_T_HASH       0x0020
#define ORBIS_T_PREFIX     0x0040
#define ORBIS_T_LAST4      0x0080
#define ORBIS_T_AGENTS     0x0100
#define ORBIS_T_VOICE      0x0200
#define ORBIS_T_LANGUAGE   0x0400
#define ORBIS_T_GREETING   0x0800
#define ORBIS_T_PROMPT     0x1000
#define ORBIS_T_TOOLS      0x2000
#define ORBIS_T_IDLE       0x4000


typedef struct {
    orbis_tlex_t      lex;
    orbis_tstmt_t     st;           /* the directive being handled */
    orbis_vtools_t    tools;
    orbis_tenants_t  *tree;         /* the tenants finished so far */
    unsigned         *line;
    orbis_err_t      *err;
} orbis_tparse_t;


/*
 * Block parsers, called with the "api_key <slug> {" or "agent <slug> {"
 * directive in ctx->st; they read up to the matching "}".  t is the
 * tenant being built.  *agents_line gets the line of the key's "agents"
 * directive, checked once the tenant's agents are all known.
 */
orbis_rc_t orbis_tparse_key(orbis_tparse_t *ctx, orbis_tenant_conf_t *t,
    orbis_tenant_key_t *k, unsigned *agents_line) ORBIS_TENANTS_HIDDEN;
orbis_rc_t orbis_tparse_agent(orbis_tparse_t *ctx, orbis_tenant_conf_t *t,
    orbis_tenant_agent_t *a) ORBIS_TENANTS_HIDDEN;


/* helpers for the directive in ctx->st; all fail with "line N: ..." */

/* "<what> <slug> {": the slug is taken over into *slug */
orbis_rc_t orbis_tblock_open(orbis_tparse_t *ctx, const char *what,
    char **slug) ORBIS_TENANTS_HIDDEN;

/*
 * The next statement of the block "<what> <slug> { ... }" into ctx->st:
 * ORBIS_OK with *closed 0 for a directive, 1 at the block's "}"; a failure
 * at the end of the file
 */
orbis_rc_t orbis_tblock_next(orbis_tparse_t *ctx, const char *what,
    const char *slug, int *closed) ORBIS_TENANTS_HIDDEN;

/* appends the size bytes at item to the array *items of *n elements */
orbis_rc_t orbis_tappend(orbis_tparse_t *ctx, void *items, size_t *n,
    const void *item, size_t size) ORBIS_TENANTS_HIDDEN;

/* ends in ";", has min..max values, first of its kind (bit) in *seen */
orbis_rc_t orbis_tsimple(orbis_tparse_t *ctx, unsigned *seen, unsigned bit,
    size_t min, size_t max) ORBIS_TENANTS_HIDDEN;

/* "name <text>;", once per block (ORBIS_T_NAME), into *out */
orbis_rc_t orbis_tname(orbis_tparse_t *ctx, unsigned *seen, char **out)
    ORBIS_TENANTS_HIDDEN;

/* the first value checked as text and taken over into *out */
orbis_rc_t orbis_ttext(orbis_tparse_t *ctx, size_t min, size_t max,
    unsigned flags, char **out) ORBIS_TENANTS_HIDDEN;

/* the first value through check, its canonical form into *out */
orbis_rc_t orbis_tcanon(orbis_tparse_t *ctx, orbis_vcheck_pt check,
    char **out) ORBIS_TENANTS_HIDDEN;

/* every value through check, distinct, appended to a list */
orbis_rc_t orbis_tlist(orbis_tparse_t *ctx, orbis_vcheck_pt check,
    const void *cctx, char ***items, size_t *n) ORBIS_TENANTS_HIDDEN;

/* a value check failed: its message e, on the line of value i */
orbis_rc_t orbis_tvalue(orbis_tparse_t *ctx, size_t i, orbis_rc_t rc,
    orbis_err_t *e) ORBIS_TENANTS_HIDDEN;

orbis_rc_t orbis_tfail(orbis_tparse_t *ctx, unsigned line,
    const char *fmt, ...) ORBIS_TENANTS_HIDDEN
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* an orbis_vcheck_pt for slugs */
orbis_rc_t orbis_tslug(const char *field, const char *s, size_t len,
    const void *cctx, char **out, orbis_err_t *err) ORBIS_TENANTS_HIDDEN;

/* 1 if the directive is the bare word name */
int orbis_tis(orbis_tparse_t *ctx, const char *name) ORBIS_TENANTS_HIDDEN;


void orbis_tenant_key_free(orbis_tenant_key_t *k) ORBIS_TENANTS_HIDDEN;
void orbis_tenant_agent_free(orbis_tenant_agent_t *a) ORBIS_TENANTS_HIDDEN;
void orbis_tenant_conf_free(orbis_tenant_conf_t *t) ORBIS_TENANTS_HIDDEN;


#endif /* ORBIS_TENANTS_INT_H */
