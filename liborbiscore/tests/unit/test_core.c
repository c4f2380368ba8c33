/*
 * Copyright (C) Orbis
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/orbiscore.h>


static void
test_err_set_fills_code_and_message(void **state)
{
    orbis_err_t  err;
    orbis_rc_t   rc;

    (void) state;

    rc = orbis_err_set(&err, ORBIS_ERR_RANGE, "field %s too long", "name");

    assert_int_equal(rc, ORBIS_ERR_RANGE);
    assert_int_equal(err.code, ORBIS_ERR_RANGE);
    assert_string_equal(err.msg, "field name too long");
    assert_string_equal(orbis_rc_name(rc), "out_of_range");
}


static void
test_err_set_truncates_long_messages(void **state)
{
    orbis_err_t  err;
    char         big[300];

    (void) state;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    orbis_err_set(&err, ORBIS_ERR_INVALID, "%s", big);

    assert_int_equal(strlen(err.msg), ORBIS_ERR_MSG_LEN - 1);
    assert_int_equal(orbis_err_set(NULL, ORBIS_ERR_AUTH, "x"), ORBIS_ERR_AUTH);
}


static void
test_ct_equal(void **state)
{
    (void) state;

    assert_true(orbis_ct_equal("abcdef", "abcdef", 6));
    assert_false(orbis_ct_equal("abcdef", "abcdeg", 6));
    assert_false(orbis_ct_equal("Xbcdef", "abcdef", 6));
    assert_true(orbis_ct_equal("", "", 0));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_err_set_fills_code_and_message),
        cmocka_unit_test(test_err_set_truncates_long_messages),
        cmocka_unit_test(test_ct_equal),
    };

    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
