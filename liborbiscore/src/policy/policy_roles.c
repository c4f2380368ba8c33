/*
 * Copyright (C) Orbis
 *
 * Roles: the least role each kind of change needs (orbiscore/policy.h).
 * Roles are ordered member < admin < owner, so a check is a comparison.
 */


#include <string.h>

#include <orbiscore/policy.h>


typedef struct {
    orbis_role_t   needed;
    const char    *what;
} orbis_role_rule_t;


static const orbis_role_rule_t  orbis_role_rules[] = {
    /* ORBIS_ACTION_READ */          { ORBIS_ROLE_NONE, "reading" },
    /* ORBIS_ACTION_AGENTS_WRITE */  { ORBIS_ROLE_ADMIN, "changing agents" },
    /* ORBIS_ACTION_KEYS_WRITE */    { ORBIS_ROLE_OWNER,
                                       "managing API keys" },
    /* ORBIS_ACTION_TENANT_WRITE */  { ORBIS_ROLE_OWNER,
                                       "changing the tenant's settings" },
    /* ORBIS_ACTION_OTHER_WRITE */   { ORBIS_ROLE_OWNER, "this change" }
};


orbis_role_t
orbis_role_parse(const char *s, size_t len)
{
    if (s == NULL) {
        return ORBIS_ROLE_NONE;
    }

    if (len == 5 && memcmp(s, "owner", 5) == 0) {
        return ORBIS_ROLE_OWNER;
    }

    if (len == 5 && memcmp(s, "admin", 5) == 0) {
        return ORBIS_ROLE_ADMIN;
    }

    if (len == 6 && memcmp(s, "member", 6) == 0) {
        return ORBIS_ROLE_MEMBER;
    }

    return ORBIS_ROLE_NONE;
}


const char *
orbis_role_name(orbis_role_t role)
{
    switch (role) {

    case ORBIS_ROLE_OWNER:
        return "owner";

    case ORBIS_ROLE_ADMIN:
        return "admin";

    case ORBIS_ROLE_MEMBER:
        return "member";

    default:
        return "none";
    }
}


orbis_role_t
orbis_role_needed(orbis_action_t action)
{
    if ((size_t) action >= sizeof(orbis_role_rules)
                           / sizeof(orbis_role_rules[0]))
    {
        return ORBIS_ROLE_OWNER;
    }

    return orbis_role_rules[action].needed;
}


orbis_rc_t
orbis_role_check(orbis_role_t role, orbis_action_t action, orbis_err_t *err)
{
    const char    *what;
    orbis_role_t   needed;

    needed = orbis_role_needed(action);

    if (role >= needed && (action == ORBIS_ACTION_READ
                           || role != ORBIS_ROLE_NONE))
    {
        return ORBIS_OK;
    }

    what = (size_t) action < sizeof(orbis_role_rules)
                             / sizeof(orbis_role_rules[0])
           ? orbis_role_rules[action].what : "this change";

    if (role == ORBIS_ROLE_NONE) {
        return orbis_err_set(err, ORBIS_ERR_AUTH,
                             "%s needs the %s role; this account has no "
                             "known role", what, orbis_role_name(needed));
    }

    return orbis_err_set(err, ORBIS_ERR_AUTH,
                         "%s needs the %s role; this account is %s %s",
                         what, orbis_role_name(needed),
                         role == ORBIS_ROLE_ADMIN ? "an" : "a",
                         orbis_role_name(role));
}
