/*
 * Copyright (C) Orbis
 */


#include <stdarg.h>
#include <stdio.h>

#include <orbiscore/orbiscore.h>


static const char  *orbis_rc_names[] = {
    "ok",
    "invalid",
    "no_memory",
    "out_of_range",
    "auth",
    "expired",
    "not_found",
    "again",
    "protocol",
    "internal"
};


const char *
orbis_version(void)
{
    return ORBIS_VERSION;
}


const char *
orbis_rc_name(orbis_rc_t rc)
{
    if ((size_t) rc >= sizeof(orbis_rc_names) / sizeof(orbis_rc_names[0])) {
        return "unknown";
    }

    return orbis_rc_names[rc];
}


orbis_rc_t
orbis_err_set(orbis_err_t *err, orbis_rc_t code, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL) {
        return code;
    }

    err->code = code;

    va_start(args, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, args);
    va_end(args);

    return code;
}


int
orbis_ct_equal(const void *a, const void *b, size_t len)
{
    size_t                i;
    unsigned char         diff;
    const unsigned char  *pa, *pb;

    pa = a;
    pb = b;
    diff = 0;

    for (i = 0; i < len; i++) {
        diff |= pa[i] ^ pb[i];
    }

    return diff == 0;
}
