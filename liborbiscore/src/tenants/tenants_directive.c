/*
 * Copyright (C) Orbis
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "tenants_int.h"


/* "<what> <slug> {": takes the slug over into *slug */
orbis_rc_t
orbis_tblock_open(orbis_tparse_t *ctx, const char *what, char **slug)
{
    orbis_rc_t     rc;
    orbis_err_t    e;
    orbis_targ_t  *v;

    if (ctx->st.end != ORBIS_TEND_BLOCK || ctx->st.nargs != 2) {
        return orbis_tfail(ctx, ctx->st.line, "expecting \"%s <slug> {\"",
                           what);
    }

    v = &ctx->st.args[1];

    rc = orbis_tslug(what, v->value, v->len, NULL, slug, &e);
    if (rc != ORBIS_OK) {
        return orbis_tvalue(ctx, 1, rc, &e);
    }

    return ORBIS_OK;
}


orbis_rc_t
orbis_tblock_next(orbis_tparse_t *ctx, const char *what, const char *slug,
    int *closed)
{
    orbis_rc_t  rc;

    *closed = 0;

    rc = orbis_tlex_next(&ctx->lex, &ctx->st, ctx->line, ctx->err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    if (ctx->st.end == ORBIS_TEND_EOF) {
        return orbis_tfail(ctx, ctx->st.line, "unexpected end of file, "
                           "expecting \"}\" of %s \"%s\"", what, slug);
    }

    *closed = (ctx->st.end == ORBIS_TEND_CLOSE);

    return ORBIS_OK;
}


orbis_rc_t
orbis_tappend(orbis_tparse_t *ctx, void *items, size_t *n, const void *item,
    size_t size)
{
    char  *grown;

    grown = orbis_realloc(*(void **) items, (*n + 1) * size);
    if (grown == NULL) {
        return orbis_err_set(ctx->err, ORBIS_ERR_NOMEM, "out of memory");
    }

    memcpy(grown + *n * size, item, size);
    *(void **) items = grown;
    (*n)++;

    return ORBIS_OK;
}


orbis_rc_t
orbis_tname(orbis_tparse_t *ctx, unsigned *seen, char **out)
{
    orbis_rc_t  rc;

    rc = orbis_tsimple(ctx, seen, ORBIS_T_NAME, 1, 1);
    if (rc != ORBIS_OK) {
        return rc;
    }

    return orbis_ttext(ctx, 1, ORBIS_NAME_MAX, 0, out);
}


/* a directive ending in ";" with min..max values, once per block */
orbis_rc_t
orbis_tsimple(orbis_tparse_t *ctx, unsigned *seen, unsigned bit, size_t min,
    size_t max)
{
    size_t       n;
    const char  *name;

    name = ctx->st.args[0].value;
    n = ctx->st.nargs - 1;

    if (ctx->st.end != ORBIS_TEND_SEMI) {
        return orbis_tfail(ctx, ctx->st.line, "\"%s\" takes no block", name);
    }

    if (*seen & bit) {
        return orbis_tfail(ctx, ctx->st.line, "duplicate \"%s\"", name);
    }

    if (n < min || n > max) {
        if (max == 1) {
            return orbis_tfail(ctx, ctx->st.line, "\"%s\" takes one value%s",
                               name, n > 1 ? " (quote values with spaces)"
                                           : "");
        }

        return orbis_tfail(ctx, ctx->st.line, "\"%s\" takes %zu to %zu "
                           "values", name, min, max);
    }

    *seen |= bit;

    return ORBIS_OK;
}


/* checks the first value as text and takes it over into *out */
orbis_rc_t
orbis_ttext(orbis_tparse_t *ctx, size_t min, size_t max, unsigned flags,
    char **out)
{
    orbis_rc_t     rc;
    orbis_err_t    e;
    orbis_targ_t  *v;

    v = &ctx->st.args[1];

    rc = orbis_vtext_check(ctx->st.args[0].value, v->value, v->len, min, max,
                           flags, &e);
    if (rc != ORBIS_OK) {
        return orbis_tvalue(ctx, 1, rc, &e);
    }

    *out = v->value;
    v->value = NULL;

    return ORBIS_OK;
}


orbis_rc_t
orbis_tcanon(orbis_tparse_t *ctx, orbis_vcheck_pt check, char **out)
{
    orbis_rc_t     rc;
    orbis_err_t    e;
    orbis_targ_t  *v;

    v = &ctx->st.args[1];

    rc = check(ctx->st.args[0].value, v->value, v->len, NULL, out, &e);
    if (rc != ORBIS_OK) {
        return orbis_tvalue(ctx, 1, rc, &e);
    }

    return ORBIS_OK;
}


/* every value through check, distinct, into a list */
orbis_rc_t
orbis_tlist(orbis_tparse_t *ctx, orbis_vcheck_pt check, const void *cctx,
    char ***items, size_t *n)
{
    char          *canon;
    size_t         i;
    orbis_rc_t     rc;
    orbis_err_t    e;
    orbis_targ_t  *v;

    for (i = 1; i < ctx->st.nargs; i++) {
        v = &ctx->st.args[i];

        rc = check(ctx->st.args[0].value, v->value, v->len, cctx, &canon,
                   &e);
        if (rc != ORBIS_OK) {
            return orbis_tvalue(ctx, i, rc, &e);
        }

        if (orbis_vlist_has(*items, *n, canon)) {
            orbis_free(canon);
            return orbis_tfail(ctx, v->line, "%s: \"%.64s\" is listed twice",
                               ctx->st.args[0].value, v->value);
        }

        rc = orbis_vlist_add(items, n, canon);
        if (rc != ORBIS_OK) {
            return orbis_err_set(ctx->err, rc, "out of memory");
        }
    }

    return ORBIS_OK;
}


/* a value check failed: its message, on the line of value i */
orbis_rc_t
orbis_tvalue(orbis_tparse_t *ctx, size_t i, orbis_rc_t rc, orbis_err_t *e)
{
    if (rc == ORBIS_ERR_NOMEM) {
        return orbis_err_set(ctx->err, rc, "out of memory");
    }

    return orbis_tfail(ctx, ctx->st.args[i].line, "%s", e->msg);
}


orbis_rc_t
orbis_tfail(orbis_tparse_t *ctx, unsigned line, const char *fmt, ...)
{
    char     msg[ORBIS_ERR_MSG_LEN];
    va_list  args;

    if (ctx->line != NULL) {
        *ctx->line = line;
    }

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    return orbis_err_set(ctx->err, ORBIS_ERR_INVALID, "line %u: %s", line,
                         msg);
}


orbis_rc_t
orbis_tslug(const char *field, const char *s, size_t len, const void *cctx,
    char **out, orbis_err_t *err)
{
    size_t  i;

    (void) cctx;

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '-'))
        {
            break;
        }
    }

    if (len == 0 || len > ORBIS_SLUG_MAX || i != len) {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "%s: a slug is 1 to %d "
                             "of a-z, 0-9 and -", field, ORBIS_SLUG_MAX);
    }

    *out = orbis_vstrdup(s, len);
    if (*out == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    return ORBIS_OK;
}


/* directive names are bare words */
int
orbis_tis(orbis_tparse_t *ctx, const char *name)
{
    return !ctx->st.args[0].quoted
           && strcmp(ctx->st.args[0].value, name) == 0;
}
