/*
 * Copyright (C) Orbis
 */


#include <string.h>
#include <strings.h>

#include <orbiscore/auth.h>
#include <orbiscore/utf8.h>


#define ORBIS_PASSWORD_MIN_DISTINCT  4


static int orbis_password_common(const char *pw, size_t len);


/*
 * Passwords that the other rules let through but that top every leaked
 * password list; compared without regard to ASCII case.
 */
static const char  *orbis_common_passwords[] = {
    "password123", "password1!", "password12", "password1234",
    "passw0rd123", "p@ssw0rd123", "p@ssword123", "password!!",
    "qwerty1234", "qwerty12345", "qwerty123!", "qwertyuiop1",
    "qwertyuiop123", "1q2w3e4r5t", "1q2w3e4r5t6y", "1qaz2wsx3edc",
    "zaq12wsxcde", "asdfghjkl1", "asdfghjkl123", "zxcvbnm123",
    "1234qwerasdf", "abc1234567", "abcd123456", "a1234567890",
    "1234567890a", "iloveyou12", "iloveyou123", "welcome123",
    "letmein123", "admin12345", "admin123456", "administrator1",
    "changeme123", "football123", "baseball123", "sunshine123",
    "princess123", "monkey12345", "dragon1234", "superman123",
    "starwars123", "hello12345", "test123456", "master1234",
    "shadow1234", "michael123", "computer123", "internet123",
    NULL
};


orbis_rc_t
orbis_password_check_rules(const char *pw, size_t len, orbis_err_t *err)
{
    int        letter, other, control;
    size_t     i, n, chars, ndistinct, k;
    uint32_t   cp, distinct[ORBIS_PASSWORD_MIN_DISTINCT];

    if (len > ORBIS_PASSWORD_MAX_BYTES) {
        return orbis_err_set(err, ORBIS_ERR_RANGE,
                             "password must be at most %d bytes",
                             ORBIS_PASSWORD_MAX_BYTES);
    }

    letter = 0;
    other = 0;
    control = 0;
    chars = 0;
    ndistinct = 0;

    for (i = 0; i < len; i += n) {
        n = orbis_utf8_next((const uint8_t *) pw + i, len - i, &cp);
        if (n == 0) {
            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "password must be valid UTF-8");
        }

        chars++;

        if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            control = 1;

        } else if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')
                   || cp >= 0x80)
        {
            letter = 1;

        } else {
            other = 1;
        }

        if (ndistinct < ORBIS_PASSWORD_MIN_DISTINCT) {
            for (k = 0; k < ndistinct && distinct[k] != cp; k++) {
                /* void */
            }

            if (k == ndistinct) {
                distinct[ndistinct++] = cp;
            }
        }
    }

    if (control) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "password must not contain control characters");
    }

    if (chars < ORBIS_PASSWORD_MIN_CHARS) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "password must be at least %d characters",
                             ORBIS_PASSWORD_MIN_CHARS);
    }

    if (!letter || !other) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "password must contain a letter and a digit "
                             "or symbol");
    }

    if (ndistinct < ORBIS_PASSWORD_MIN_DISTINCT) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "password must use at least %d different "
                             "characters", ORBIS_PASSWORD_MIN_DISTINCT);
    }

    if (orbis_password_common(pw, len)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "password is too common, choose another one");
    }

    return ORBIS_OK;
}


static int
orbis_password_common(const char *pw, size_t len)
{
    size_t  i;

    for (i = 0; orbis_common_passwords[i] != NULL; i++) {
        if (strlen(orbis_common_passwords[i]) == len
            && strncasecmp(orbis_common_passwords[i], pw, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}
