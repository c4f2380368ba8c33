/*
 * Copyright (C) Orbis
 *
 * Roles: every role against every action, and the messages people see.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/policy.h>


static void
test_role_parse(void **state)
{
    (void) state;

    assert_int_equal(orbis_role_parse("owner", 5), ORBIS_ROLE_OWNER);
    assert_int_equal(orbis_role_parse("admin", 5), ORBIS_ROLE_ADMIN);
    assert_int_equal(orbis_role_parse("member", 6), ORBIS_ROLE_MEMBER);

    /* exact: no prefixes, no case folding, no NULL */
    assert_int_equal(orbis_role_parse("owners", 6), ORBIS_ROLE_NONE);
    assert_int_equal(orbis_role_parse("owner", 4), ORBIS_ROLE_NONE);
    assert_int_equal(orbis_role_parse("Owner", 5), ORBIS_ROLE_NONE);
    assert_int_equal(orbis_role_parse("", 0), ORBIS_ROLE_NONE);
    assert_int_equal(orbis_role_parse(NULL, 5), ORBIS_ROLE_NONE);

    assert_string_equal(orbis_role_name(ORBIS_ROLE_OWNER), "owner");
    assert_string_equal(orbis_role_name(ORBIS_ROLE_MEMBER), "member");
    assert_string_equal(orbis_role_name(ORBIS_ROLE_NONE), "none");
}


static void
test_role_matrix(void **state)
{
    size_t  i, j;

    /* rows: none, member, admin, owner; columns: the actions in order */
    static const int  allowed[4][5] = {
        { 1, 0, 0, 0, 0 },
        { 1, 0, 0, 0, 0 },
        { 1, 1, 0, 0, 0 },
        { 1, 1, 1, 1, 1 }
    };

    (void) state;

    for (i = 0; i < 4; i++) {
        for (j = 0; j < 5; j++) {
            assert_int_equal(orbis_role_check((orbis_role_t) i,
                                              (orbis_action_t) j, NULL)
                             == ORBIS_OK, allowed[i][j]);
        }
    }

    /* an action the table does not know needs the owner */
    assert_int_equal(orbis_role_needed((orbis_action_t) 99),
                     ORBIS_ROLE_OWNER);
    assert_int_equal(orbis_role_check(ORBIS_ROLE_ADMIN, (orbis_action_t) 99,
                                      NULL), ORBIS_ERR_AUTH);
    assert_int_equal(orbis_role_check(ORBIS_ROLE_OWNER, (orbis_action_t) 99,
                                      NULL), ORBIS_OK);
}


static void
test_role_messages(void **state)
{
    orbis_err_t  err;

    (void) state;

    assert_int_equal(orbis_role_check(ORBIS_ROLE_MEMBER,
                                      ORBIS_ACTION_KEYS_WRITE, &err),
                     ORBIS_ERR_AUTH);
    assert_int_equal(err.code, ORBIS_ERR_AUTH);
    assert_string_equal(err.msg, "managing API keys needs the owner role; "
                                 "this account is a member");

    assert_int_equal(orbis_role_check(ORBIS_ROLE_ADMIN,
                                      ORBIS_ACTION_TENANT_WRITE, &err),
                     ORBIS_ERR_AUTH);
    assert_string_equal(err.msg, "changing the tenant's settings needs the "
                                 "owner role; this account is an admin");

    assert_int_equal(orbis_role_check(ORBIS_ROLE_MEMBER,
                                      ORBIS_ACTION_AGENTS_WRITE, &err),
                     ORBIS_ERR_AUTH);
    assert_string_equal(err.msg, "changing agents needs the admin role; "
                                 "this account is a member");

    assert_int_equal(orbis_role_check(ORBIS_ROLE_NONE,
                                      ORBIS_ACTION_AGENTS_WRITE, &err),
                     ORBIS_ERR_AUTH);
    assert_string_equal(err.msg, "changing agents needs the admin role; "
                                 "this account has no known role");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_role_parse),
        cmocka_unit_test(test_role_matrix),
        cmocka_unit_test(test_role_messages),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
