/*
 * Copyright (C) Orbis
 *
 * Policy: the decisions about what a caller may do, as pure functions of
 * what the caller supplies (no I/O, no clock).
 */

#ifndef ORBISCORE_POLICY_H
#define ORBISCORE_POLICY_H

#include <orbiscore/orbiscore.h>


/* ------------------------------------------------------------------------
 * Roles (src/policy/policy_roles.c): who may change what through the API.
 *
 * A tenant's users have one role each: owner, admin or member.  Reading
 * is open to every role.  Changes need at least:
 *
 *     agents (create, update, delete)             admin
 *     API keys (mint, change, revoke)             owner
 *     tenant settings (name, plan, origins, ...)  owner
 *     anything else that writes                   owner
 *
 * A secret key acts for its tenant as its owner would (only an owner can
 * mint one).  The caller reads the role from the database on each write,
 * not from a session token, so a changed role counts at once.
 * --------------------------------------------------------------------- */

typedef enum {
    ORBIS_ROLE_NONE = 0,        /* unknown: may read, change nothing */
    ORBIS_ROLE_MEMBER,
    ORBIS_ROLE_ADMIN,
    ORBIS_ROLE_OWNER
} orbis_role_t;

typedef enum {
    ORBIS_ACTION_READ = 0,
    ORBIS_ACTION_AGENTS_WRITE,
    ORBIS_ACTION_KEYS_WRITE,
    ORBIS_ACTION_TENANT_WRITE,
    ORBIS_ACTION_OTHER_WRITE    /* a write no rule names: owner only */
} orbis_action_t;

/* "owner", "admin", "member" (exactly); anything else is ORBIS_ROLE_NONE */
orbis_role_t orbis_role_parse(const char *s, size_t len);

/* "owner", "admin", "member" or "none" (static storage) */
const char *orbis_role_name(orbis_role_t role);

/* the least role that may do action */
orbis_role_t orbis_role_needed(orbis_action_t action);

/*
 * ORBIS_OK when role may do action; else ORBIS_ERR_AUTH with a message
 * for people that says what the action needs and what the caller is,
 * e.g. "managing API keys needs the owner role; this account is a member".
 */
orbis_rc_t orbis_role_check(orbis_role_t role, orbis_action_t action,
    orbis_err_t *err);


#endif /* ORBISCORE_POLICY_H */
