/*
 * Copyright (C) Orbis
 *
 * Internals of the auth area, shared by its files and the unit tests;
 * hidden, so they never leave liborbiscore.so.
 */

#ifndef ORBIS_AUTH_INT_H
#define ORBIS_AUTH_INT_H

#include <orbiscore/auth.h>


#define ORBIS_AUTH_HIDDEN  __attribute__((visibility("hidden")))


/* raw scrypt, without the checks orbis_password_verify() applies first */
orbis_rc_t orbis_scrypt_derive(const char *pw, size_t pwlen,
    const uint8_t *salt, size_t saltlen, const orbis_password_params_t *p,
    uint8_t *out, size_t outlen) ORBIS_AUTH_HIDDEN;


#endif /* ORBIS_AUTH_INT_H */
