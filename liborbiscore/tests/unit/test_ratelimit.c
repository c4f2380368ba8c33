/*
 * Copyright (C) Orbis
 *
 * Expected values are worked out by hand from the formulas in
 * orbiscore/ratelimit.h; the comments show the arithmetic.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <orbiscore/ratelimit.h>


static void expect(int64_t *tat, int64_t now, uint32_t limit,
    uint32_t period, uint32_t burst, int allowed, uint32_t remaining,
    int64_t reset, int64_t retry);


static void
test_gcra_burst_then_refill(void **state)
{
    int      i;
    int64_t  tat;

    (void) state;

    /* 10 per second, burst = limit: T = 100 ms, tolerance 1000 ms */
    tat = 0;

    for (i = 0; i < 10; i++) {
        /* the i-th request moves TAT to 1000 + 100 * (i + 1) */
        expect(&tat, 1000, 10, 1000, 0, 1, 9 - i, 100 * (i + 1), 0);
    }

    assert_int_equal(tat, 2000);

    /* the 11th: allowed at 2100 - 1000 = 1100, so retry in 100 ms */
    expect(&tat, 1000, 10, 1000, 0, 0, 0, 1000, 100);
    assert_int_equal(tat, 2000);

    /* refused requests do not move the state */
    expect(&tat, 1099, 10, 1000, 0, 0, 0, 901, 1);
    assert_int_equal(tat, 2000);

    /* at 1100 exactly one cell has drained */
    expect(&tat, 1100, 10, 1000, 0, 1, 0, 1000, 0);
    assert_int_equal(tat, 2100);

    /* 500 ms later five more: TAT 2200, allow_at 1200, (1600-1200)/100 */
    expect(&tat, 1600, 10, 1000, 0, 1, 4, 600, 0);

    /* long idle: a full bucket again */
    expect(&tat, 100000, 10, 1000, 0, 1, 9, 100, 0);
    assert_int_equal(tat, 100100);
}


static void
test_gcra_small_burst(void **state)
{
    int      i;
    int64_t  tat;

    (void) state;

    /* 60 per minute, at most 5 at once: T = 1000 ms */
    tat = 0;

    for (i = 0; i < 5; i++) {
        expect(&tat, 50000, 60, 60000, 5, 1, 4 - i, 1000 * (i + 1), 0);
    }

    expect(&tat, 50000, 60, 60000, 5, 0, 0, 5000, 1000);
    expect(&tat, 50999, 60, 60000, 5, 0, 0, 4001, 1);
    expect(&tat, 51000, 60, 60000, 5, 1, 0, 5000, 0);

    /* burst 1 spaces requests exactly T apart */
    tat = 0;
    expect(&tat, 0, 60, 60000, 1, 1, 0, 1000, 0);
    expect(&tat, 999, 60, 60000, 1, 0, 0, 1, 1);
    expect(&tat, 1000, 60, 60000, 1, 1, 0, 1000, 0);
}


static void
test_gcra_interval_rounds_up(void **state)
{
    int64_t  tat;

    (void) state;

    /* 3 per second: T = ceil(1000 / 3) = 334 */
    tat = 0;
    expect(&tat, 0, 3, 1000, 0, 1, 2, 334, 0);
    expect(&tat, 0, 3, 1000, 0, 1, 1, 668, 0);
    expect(&tat, 0, 3, 1000, 0, 1, 0, 1002, 0);
    expect(&tat, 0, 3, 1000, 0, 0, 0, 1002, 334);
    expect(&tat, 333, 3, 1000, 0, 0, 0, 669, 1);
    expect(&tat, 334, 3, 1000, 0, 1, 0, 1002, 0);
}


static void
test_gcra_clock_and_state_oddities(void **state)
{
    int64_t  tat;

    (void) state;

    /* a TAT far in the future (clock stepped back): refused, exact wait */
    tat = 1000000;
    expect(&tat, 1000, 10, 1000, 0, 0, 0, 999000, 998100);
    assert_int_equal(tat, 1000000);

    /* a zeroed state is a full bucket at any time */
    tat = 0;
    expect(&tat, 1700000000000LL, 100, 60000, 0, 1, 99, 600, 0);
    assert_int_equal(tat, 1700000000600LL);
}


static void
test_gcra_refuses_bad_parameters(void **state)
{
    int64_t              tat;
    orbis_gcra_result_t  r;

    (void) state;

    tat = 0;

    assert_int_equal(orbis_gcra_check(&tat, 0, 0, 1000, 0, &r),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gcra_check(&tat, 0, 10, 0, 0, &r),
                     ORBIS_ERR_INVALID);
    assert_int_equal(orbis_gcra_check(&tat, 0, 10, 1000,
                                      ORBIS_GCRA_BURST_MAX + 1, &r),
                     ORBIS_ERR_INVALID);
    assert_int_equal(tat, 0);

    /* the largest values stay exact */
    assert_int_equal(orbis_gcra_check(&tat, 0, 1, UINT32_MAX,
                                      ORBIS_GCRA_BURST_MAX, &r),
                     ORBIS_OK);
    assert_int_equal(r.remaining, ORBIS_GCRA_BURST_MAX - 1);
    assert_int_equal(r.reset_ms, (int64_t) UINT32_MAX);
}


static void
test_reset_seconds_round_up(void **state)
{
    (void) state;

    assert_int_equal(orbis_ratelimit_reset_seconds(-5), 0);
    assert_int_equal(orbis_ratelimit_reset_seconds(0), 0);
    assert_int_equal(orbis_ratelimit_reset_seconds(1), 1);
    assert_int_equal(orbis_ratelimit_reset_seconds(999), 1);
    assert_int_equal(orbis_ratelimit_reset_seconds(1000), 1);
    assert_int_equal(orbis_ratelimit_reset_seconds(1001), 2);
    assert_int_equal(orbis_ratelimit_reset_seconds(59999), 60);
}


/*
 * The script itself runs in Redis (checked by hand against redis-server
 * 7.0 during development); here it is held to the C arithmetic line for
 * line, so that an edit of one without the other fails.
 */
static void
test_lua_script_mirrors_c(void **state)
{
    size_t       n;
    const char  *lua, *revoked, *time, *set, *p;

    (void) state;

    lua = orbis_ratelimit_lua();

    assert_non_null(strstr(lua, "redis.call('TIME')"));
    assert_non_null(strstr(lua, "tonumber(t[1]) * 1000 + "
                                "math.floor(tonumber(t[2]) / 1000)"));
    assert_non_null(strstr(lua, "if burst == 0 then burst = limit end"));
    assert_non_null(strstr(lua, "math.floor((period + limit - 1) / limit)"));
    assert_non_null(strstr(lua, "if tat == nil or tat < now then "
                                "tat = now end"));
    assert_non_null(strstr(lua, "local new_tat = tat + interval"));
    assert_non_null(strstr(lua, "new_tat - interval * burst"));
    assert_non_null(strstr(lua, "return {0, 0, tat - now, "
                                "allow_at - now}"));
    assert_non_null(strstr(lua, "'PX', string.format('%d', r[5] - now)"));
    assert_non_null(strstr(lua, "return {1, math.floor((now - "
                                "allow_at) / interval),\n          "
                                "new_tat - now, 0, new_tat}"));
    assert_non_null(strstr(lua, "burst > 1000000"));
    assert_int_equal(ORBIS_GCRA_BURST_MAX, 1000000);

    /* only an allowed request is stored, in both forms */
    assert_non_null(strstr(lua, "if r[1] == 1 then store(KEYS[1], r, now) "
                                "end"));
    assert_non_null(strstr(lua, "if hit == 0 and commit then\n"
                                "  for i = 1, nb do store(KEYS[i], rs[i], "
                                "now) end"));

    /*
     * the revocation check: optional KEYS[2], answered before the bucket
     * is read or written, so a revoked caller uses none of the allowance
     */
    revoked = strstr(lua, "if KEYS[2] and redis.call('EXISTS', KEYS[2]) "
                          "== 1 then\n    return {0, 0, 0, 0, 1}\n  end\n");
    time = strstr(revoked != NULL ? revoked : lua, "clock()");
    set = strstr(revoked != NULL ? revoked : lua, "store(KEYS[1]");
    assert_non_null(revoked);
    assert_non_null(time);
    assert_non_null(set);
    assert_true(revoked < time && time < set);

    /* the multi form's revocation comes before its clock too */
    revoked = strstr(lua, "if revoke and redis.call('EXISTS', revoke) == 1 "
                          "then\n  return {0, 0, 0, 0, 1, 0, 0}\nend\n");
    assert_non_null(revoked);
    assert_non_null(strstr(revoked, "local now = clock()"));

    /*
     * with KEYS[2] the answer gets a fifth number, 0 unless revoked; with
     * one key it is the four numbers callers of old expect
     */
    assert_non_null(strstr(lua, "local function reply(r)\n"
                                "  if KEYS[2] then r[5] = 0 end\n"
                                "  return r\nend\n"));

    /* and KEYS[2] is only ever read: nothing else mentions it */
    for (n = 0, p = strstr(lua, "KEYS[2]"); p != NULL;
         p = strstr(p + 1, "KEYS[2]"))
    {
        n++;
    }

    assert_int_equal(n, 3);
}


static void
expect(int64_t *tat, int64_t now, uint32_t limit, uint32_t period,
    uint32_t burst, int allowed, uint32_t remaining, int64_t reset,
    int64_t retry)
{
    orbis_gcra_result_t  r;

    memset(&r, 0xff, sizeof(r));

    assert_int_equal(orbis_gcra_check(tat, now, limit, period, burst, &r),
                     ORBIS_OK);
    assert_int_equal(r.allowed, allowed);
    assert_int_equal(r.limit, limit);
    assert_int_equal(r.remaining, remaining);
    assert_int_equal(r.reset_ms, reset);
    assert_int_equal(r.retry_after_ms, retry);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_gcra_burst_then_refill),
        cmocka_unit_test(test_gcra_small_burst),
        cmocka_unit_test(test_gcra_interval_rounds_up),
        cmocka_unit_test(test_gcra_clock_and_state_oddities),
        cmocka_unit_test(test_gcra_refuses_bad_parameters),
        cmocka_unit_test(test_reset_seconds_round_up),
        cmocka_unit_test(test_lua_script_mirrors_c),
    };

    return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
