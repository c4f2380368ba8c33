/*
 * Copyright (C) Orbis
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include <orbiscore/utf8.h>

#include "tenants_int.h"


static orbis_rc_t orbis_tlex_string(orbis_tlex_t *lx, orbis_targ_t *arg,
    unsigned *line, orbis_err_t *err);
static orbis_rc_t orbis_tlex_word(orbis_tlex_t *lx, orbis_targ_t *arg,
    unsigned *line, orbis_err_t *err);
static void orbis_tlex_skip(orbis_tlex_t *lx);
static int orbis_tlex_special(int c);
static orbis_rc_t orbis_tlex_fail(unsigned at, unsigned *line,
    orbis_err_t *err, orbis_rc_t rc, const char *what);


orbis_rc_t
orbis_tlex_check(const char *text, size_t len, unsigned *line,
    orbis_err_t *err)
{
    size_t    i, n;
    unsigned  at;
    uint32_t  cp;

    at = 1;

    for (i = 0; i < len; i += n) {
        n = orbis_utf8_next((const uint8_t *) text + i, len - i, &cp);
        if (n == 0) {
            return orbis_tlex_fail(at, line, err, ORBIS_ERR_INVALID,
                                   "not valid UTF-8");
        }

        if (cp == '\n') {
            at++;

        } else if ((cp < 0x20 && cp != '\t' && cp != '\r')
                   || (cp >= 0x7f && cp < 0xa0))
        {
            return orbis_tlex_fail(at, line, err, ORBIS_ERR_INVALID,
                                   "control character");
        }
    }

    return ORBIS_OK;
}


orbis_rc_t
orbis_tlex_next(orbis_tlex_t *lx, orbis_tstmt_t *st, unsigned *line,
    orbis_err_t *err)
{
    int            c;
    orbis_rc_t     rc;
    orbis_targ_t  *arg;

    orbis_tstmt_clear(st);

    for ( ;; ) {
        orbis_tlex_skip(lx);

        if (lx->p == lx->end) {
            if (st->nargs > 0) {
                return orbis_tlex_fail(lx->line, line, err,
                                       ORBIS_ERR_INVALID,
                                       "unexpected end of file, "
                                       "expecting \";\"");
            }

            st->end = ORBIS_TEND_EOF;
            st->line = lx->line;

            return ORBIS_OK;
        }

        c = (unsigned char) *lx->p;

        if (c == ';' || c == '{' || c == '}') {
            if (st->nargs == 0 && c != '}') {
                return orbis_tlex_fail(lx->line, line, err,
                                       ORBIS_ERR_INVALID,
                                       c == ';' ? "unexpected \";\""
                                                : "unexpected \"{\"");
            }

            if (st->nargs > 0 && c == '}') {
                return orbis_tlex_fail(lx->line, line, err,
                                       ORBIS_ERR_INVALID,
                                       "unexpected \"}\", "
                                       "expecting \";\"");
            }

            lx->p++;

            if (c == '}') {
                st->end = ORBIS_TEND_CLOSE;
                st->line = lx->line;

            } else {
                st->end = (c == ';') ? ORBIS_TEND_SEMI : ORBIS_TEND_BLOCK;
            }

            return ORBIS_OK;
        }

        if (st->nargs == ORBIS_TSTMT_MAX) {
            return orbis_tlex_fail(lx->line, line, err, ORBIS_ERR_INVALID,
                                   "too many values");
        }

        arg = &st->args[st->nargs];

        rc = (c == '"') ? orbis_tlex_string(lx, arg, line, err)
                        : orbis_tlex_word(lx, arg, line, err);
        if (rc != ORBIS_OK) {
            return rc;
        }

        if (st->nargs++ == 0) {
            st->line = arg->line;
        }
    }
}


void
orbis_tstmt_clear(orbis_tstmt_t *st)
{
    size_t  i;

    for (i = 0; i < st->nargs; i++) {
        orbis_free(st->args[i].value);
        st->args[i].value = NULL;
    }

    st->nargs = 0;
    st->end = ORBIS_TEND_EOF;
    st->line = 0;
}


/* "..." with \" and \\ escapes; it may span lines */
static orbis_rc_t
orbis_tlex_string(orbis_tlex_t *lx, orbis_targ_t *arg, unsigned *line,
    orbis_err_t *err)
{
    char         *v;
    size_t        n;
    unsigned      start, lines;
    const char   *p, *q;

    start = lx->line;
    lines = 0;
    n = 0;

    /* find the end and the length first, then copy */
    for (p = lx->p + 1; p < lx->end && *p != '"'; p++, n++) {
        if (*p == '\\') {
            if (p + 1 == lx->end || (p[1] != '"' && p[1] != '\\')) {
                return orbis_tlex_fail(start + lines, line, err,
                                       ORBIS_ERR_INVALID,
                                       "unknown escape in string, "
                                       "only \\\" and \\\\ are allowed");
            }

            p++;

        } else if (*p == '\n') {
            lines++;
        }
    }

    if (p == lx->end) {
        return orbis_tlex_fail(start, line, err, ORBIS_ERR_INVALID,
                               "unterminated string");
    }

    /* "a"b would be ambiguous */
    if (p + 1 < lx->end && !orbis_tlex_special((unsigned char) p[1])) {
        return orbis_tlex_fail(start + lines, line, err, ORBIS_ERR_INVALID,
                               "expecting a space or \";\" after a string");
    }

    v = orbis_malloc(n + 1);
    if (v == NULL) {
        return orbis_tlex_fail(start, line, err, ORBIS_ERR_NOMEM,
                               "out of memory");
    }

    n = 0;

    for (q = lx->p + 1; q < p; q++) {
        if (*q == '\\') {
            q++;
        }

        v[n++] = *q;
    }

    v[n] = '\0';

    arg->value = v;
    arg->len = n;
    arg->line = start;
    arg->quoted = 1;

    lx->p = p + 1;
    lx->line += lines;

    return ORBIS_OK;
}


static orbis_rc_t
orbis_tlex_word(orbis_tlex_t *lx, orbis_targ_t *arg, unsigned *line,
    orbis_err_t *err)
{
    const char  *start;

    start = lx->p;

    while (lx->p < lx->end && !orbis_tlex_special((unsigned char) *lx->p)) {
        lx->p++;
    }

    if (lx->p < lx->end && *lx->p == '"') {
        return orbis_tlex_fail(lx->line, line, err, ORBIS_ERR_INVALID,
                               "unexpected quote inside a word");
    }

    arg->len = (size_t) (lx->p - start);
    arg->value = orbis_vstrdup(start, arg->len);
    arg->line = lx->line;
    arg->quoted = 0;

    if (arg->value == NULL) {
        return orbis_tlex_fail(lx->line, line, err, ORBIS_ERR_NOMEM,
                               "out of memory");
    }

    return ORBIS_OK;
}


/* white space and comments; a comment starts where a word could */
static void
orbis_tlex_skip(orbis_tlex_t *lx)
{
    while (lx->p < lx->end) {
        if (*lx->p == '\n') {
            lx->line++;

        } else if (*lx->p == '#') {
            while (lx->p < lx->end && *lx->p != '\n') {
                lx->p++;
            }

            continue;

        } else if (*lx->p != ' ' && *lx->p != '\t' && *lx->p != '\r') {
            return;
        }

        lx->p++;
    }
}


/* what ends a word */
static int
orbis_tlex_special(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n'
           || c == ';' || c == '{' || c == '}' || c == '"' || c == '#';
}


static orbis_rc_t
orbis_tlex_fail(unsigned at, unsigned *line, orbis_err_t *err,
    orbis_rc_t rc, const char *what)
{
    if (line != NULL) {
        *line = at;
    }

    return orbis_err_set(err, rc, "line %u: %s", at, what);
}
