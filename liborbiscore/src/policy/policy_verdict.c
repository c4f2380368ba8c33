/*
 * Copyright (C) Orbis
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy_int.h"


void
orbis_verdict_admit(orbis_verdict_t *v)
{
    memset(v, 0, sizeof(orbis_verdict_t));
    v->admit = 1;
}


void
orbis_verdict_refuse(orbis_verdict_t *v, unsigned status, const char *code,
    uint16_t close_code, const char *fmt, ...)
{
    va_list  ap;

    memset(v, 0, sizeof(orbis_verdict_t));

    v->status = status;
    v->code = code;
    v->close_code = close_code;

    va_start(ap, fmt);
    (void) vsnprintf(v->message, sizeof(v->message), fmt, ap);
    va_end(ap);
}
