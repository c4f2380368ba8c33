/*
 * Copyright (C) Orbis
 */

#ifndef ORBIS_POLICY_INT_H
#define ORBIS_POLICY_INT_H

#include <orbiscore/policy.h>


void orbis_verdict_admit(orbis_verdict_t *v);
void orbis_verdict_refuse(orbis_verdict_t *v, unsigned status,
    const char *code, uint16_t close_code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;


#endif /* ORBIS_POLICY_INT_H */
