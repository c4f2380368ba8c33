/*
 * Copyright (C) Orbis
 *
 * The built-in score_lead tool: a deterministic score for a sales lead from
 * what the caller told the agent.  Points, 100 at most:
 *
 *   contactability  20   email that looks deliverable 8, phone with 7-15
 *                        digits 8, a name 2, a company 2
 *   budget          25   >= 50000: 25, >= 10000: 18, >= 1000: 10, > 0: 4
 *   timeline        25   now/today/this week/asap: 25; next week/this
 *                        month/within a month: 18; next month/this quarter/
 *                        a few months: 10; this year/later/6 months: 4;
 *                        "not sure", "just looking", "no rush": 0; anything
 *                        else: 4 (unclear)
 *   authority       15   decisionMaker true: 15
 *   need            15   four words or more: 15, fewer: 8
 *
 * Grade: 70 and up "hot", 40 and up "warm", below "cold".  Each rule that
 * fires adds a reason, in the order above, so the agent can explain the
 * score.  Phrases match whole words, case-insensitively; the "no plans"
 * phrases are tried first so that "not now" is not read as "now".
 */


#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tools_int.h"


#define ORBIS_LEAD_HOT   70
#define ORBIS_LEAD_WARM  40


typedef struct {
    int           points;
    const char   *label;
    const char  **phrases;
} orbis_lead_tier_t;


static int orbis_lead_run(const orbis_tool_t *tool,
    const json_t *args, orbis_tool_ctx_t *ctx, json_t **result,
    orbis_err_t *err);
static int orbis_lead_reason(json_t *reasons, int *score, int points,
    const char *fmt, ...);
static const char *orbis_lead_text(const json_t *args, const char *key);
static int orbis_lead_email_ok(const char *s);
static int orbis_lead_phone_ok(const char *s);
static int orbis_lead_words(const char *s);
static const orbis_lead_tier_t *orbis_lead_timeline(const char *s);
static int orbis_lead_has_phrase(const char *text, const char *phrase);


static const char  *orbis_lead_none[] = {
    "no timeline", "not sure", "unsure", "unknown", "just looking",
    "just browsing", "no rush", "not now", "no plans", "undecided",
    "no idea", NULL
};

static const char  *orbis_lead_now[] = {
    "asap", "now", "immediately", "today", "tomorrow", "this week",
    "urgent", "urgently", "right away", NULL
};

static const char  *orbis_lead_month[] = {
    "next week", "this month", "within a month", "two weeks", "2 weeks",
    "few weeks", "30 days", "end of the month", "end of month", NULL
};

static const char  *orbis_lead_quarter[] = {
    "next month", "this quarter", "next quarter", "few months",
    "couple of months", "60 days", "90 days", "2 months", "3 months",
    "two months", "three months", NULL
};

static const char  *orbis_lead_later[] = {
    "this year", "next year", "6 months", "six months", "12 months",
    "later", "someday", "eventually", "end of the year", NULL
};

static const orbis_lead_tier_t  orbis_lead_tiers[] = {
    { 0, "no timeline yet", orbis_lead_none },
    { 25, "buying now", orbis_lead_now },
    { 18, "buying within a month", orbis_lead_month },
    { 10, "buying within a quarter", orbis_lead_quarter },
    { 4, "buying later", orbis_lead_later },
};

static const orbis_lead_tier_t  orbis_lead_unclear = {
    4, "timeline unclear", NULL
};


const orbis_tool_t  orbis_tools_score_lead = {
    .name = "score_lead",
    .description =
        "Score a sales lead from what the caller said. Returns score "
        "0-100, grade hot, warm or cold, and the reasons behind it. Pass "
        "only what the caller actually told you.",
    .parameters =
        "{\"type\": \"OBJECT\", \"properties\": {"
        "\"name\": {\"type\": \"STRING\"},"
        "\"email\": {\"type\": \"STRING\"},"
        "\"phone\": {\"type\": \"STRING\"},"
        "\"company\": {\"type\": \"STRING\"},"
        "\"budget\": {\"type\": \"NUMBER\", \"minimum\": 0,"
        " \"description\": \"Budget in the caller's currency\"},"
        "\"timeline\": {\"type\": \"STRING\","
        " \"description\": \"When they want to buy, e.g. this month\"},"
        "\"need\": {\"type\": \"STRING\","
        " \"description\": \"What they need, in their words\"},"
        "\"decisionMaker\": {\"type\": \"BOOLEAN\","
        " \"description\": \"Whether the caller decides the purchase\"}}}",
    .behavior = ORBIS_TOOL_BLOCKING,
    .timeout_ms = 1000,
    .run = orbis_lead_run,
    .data = NULL
};


static int
orbis_lead_run(const orbis_tool_t *tool, const json_t *args,
    orbis_tool_ctx_t *ctx, json_t **result, orbis_err_t *err)
{
    int                       score, ok;
    double                    budget;
    json_t                   *reasons, *v;
    const char               *s;
    const orbis_lead_tier_t  *tier;

    (void) tool;
    (void) ctx;

    reasons = json_array();
    if (reasons == NULL) {
        orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        return ORBIS_TOOL_ERROR;
    }

    score = 0;
    ok = 1;

    s = orbis_lead_text(args, "email");
    if (s != NULL && orbis_lead_email_ok(s)) {
        ok &= orbis_lead_reason(reasons, &score, 8, "email given");
    }

    s = orbis_lead_text(args, "phone");
    if (s != NULL && orbis_lead_phone_ok(s)) {
        ok &= orbis_lead_reason(reasons, &score, 8, "phone given");
    }

    if (orbis_lead_text(args, "name") != NULL) {
        ok &= orbis_lead_reason(reasons, &score, 2, "name given");
    }

    if (orbis_lead_text(args, "company") != NULL) {
        ok &= orbis_lead_reason(reasons, &score, 2, "company given");
    }

    v = json_object_get(args, "budget");

    if (json_is_number(v)) {
        budget = json_number_value(v);

        if (budget >= 50000) {
            ok &= orbis_lead_reason(reasons, &score, 25,
                                    "budget %.0f, 50000 or more", budget);

        } else if (budget >= 10000) {
            ok &= orbis_lead_reason(reasons, &score, 18,
                                    "budget %.0f, 10000 to 49999", budget);

        } else if (budget >= 1000) {
            ok &= orbis_lead_reason(reasons, &score, 10,
                                    "budget %.0f, 1000 to 9999", budget);

        } else if (budget > 0) {
            ok &= orbis_lead_reason(reasons, &score, 4,
                                    "budget %.0f, under 1000", budget);

        } else {
            ok &= orbis_lead_reason(reasons, &score, 0, "no budget");
        }

    } else {
        ok &= orbis_lead_reason(reasons, &score, 0, "budget unknown");
    }

    s = orbis_lead_text(args, "timeline");

    if (s != NULL) {
        tier = orbis_lead_timeline(s);
        ok &= orbis_lead_reason(reasons, &score, tier->points, "%s",
                                tier->label);

    } else {
        ok &= orbis_lead_reason(reasons, &score, 0, "timeline unknown");
    }

    v = json_object_get(args, "decisionMaker");

    if (json_is_true(v)) {
        ok &= orbis_lead_reason(reasons, &score, 15, "decision maker");

    } else if (json_is_false(v)) {
        ok &= orbis_lead_reason(reasons, &score, 0,
                                "not the decision maker");

    } else {
        ok &= orbis_lead_reason(reasons, &score, 0, "authority unknown");
    }

    s = orbis_lead_text(args, "need");

    if (s != NULL && orbis_lead_words(s) >= 4) {
        ok &= orbis_lead_reason(reasons, &score, 15, "clear need");

    } else if (s != NULL) {
        ok &= orbis_lead_reason(reasons, &score, 8, "vague need");

    } else {
        ok &= orbis_lead_reason(reasons, &score, 0, "need unknown");
    }

    *result = ok ? json_pack("{s:i, s:s, s:o}", "score", score, "grade",
                             score >= ORBIS_LEAD_HOT ? "hot"
                             : score >= ORBIS_LEAD_WARM ? "warm" : "cold",
                             "reasons", reasons)
                 : NULL;

    if (!ok) {
        json_decref(reasons);
    }

    if (*result == NULL) {
        orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        return ORBIS_TOOL_ERROR;
    }

    return ORBIS_TOOL_DONE;
}


static int
orbis_lead_reason(json_t *reasons, int *score, int points, const char *fmt,
    ...)
{
    char     buf[96];
    int      n;
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);

    if (n < 0) {
        return 0;
    }

    snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " (+%d)", points);

    *score += points;

    return json_array_append_new(reasons, json_string(buf)) == 0;
}


/* a string argument with something other than blanks in it, or NULL */
static const char *
orbis_lead_text(const json_t *args, const char *key)
{
    const char  *s, *p;

    s = json_string_value(json_object_get(args, key));

    if (s == NULL) {
        return NULL;
    }

    for (p = s; *p != '\0'; p++) {
        if (!isspace((unsigned char) *p)) {
            return s;
        }
    }

    return NULL;
}


static int
orbis_lead_email_ok(const char *s)
{
    size_t       len;
    const char  *at, *dot, *p;

    len = strlen(s);
    at = strchr(s, '@');

    if (len > 254 || at == NULL || at == s || strchr(at + 1, '@') != NULL) {
        return 0;
    }

    for (p = s; *p != '\0'; p++) {
        if (isspace((unsigned char) *p)) {
            return 0;
        }
    }

    dot = strrchr(at, '.');

    /* a dot in the domain, neither first nor last */
    return dot != NULL && dot > at + 1 && dot[1] != '\0';
}


static int
orbis_lead_phone_ok(const char *s)
{
    int          digits;
    const char  *p;

    digits = 0;

    for (p = s; *p != '\0'; p++) {
        if (isdigit((unsigned char) *p)) {
            digits++;

        } else if (*p == '+') {
            if (p != s) {
                return 0;
            }

        } else if (strchr(" -().", *p) == NULL) {
            return 0;
        }
    }

    return digits >= 7 && digits <= 15;
}


static int
orbis_lead_words(const char *s)
{
    int  n, in;

    n = 0;
    in = 0;

    for ( /* void */ ; *s != '\0'; s++) {
        if (isspace((unsigned char) *s)) {
            in = 0;

        } else if (!in) {
            in = 1;
            n++;
        }
    }

    return n;
}


static const orbis_lead_tier_t *
orbis_lead_timeline(const char *s)
{
    char    text[256];
    size_t  i, t;

    for (i = 0; s[i] != '\0' && i < sizeof(text) - 1; i++) {
        text[i] = (char) tolower((unsigned char) s[i]);
    }

    text[i] = '\0';

    for (t = 0; t < sizeof(orbis_lead_tiers) / sizeof(orbis_lead_tiers[0]);
         t++)
    {
        for (i = 0; orbis_lead_tiers[t].phrases[i] != NULL; i++) {
            if (orbis_lead_has_phrase(text, orbis_lead_tiers[t].phrases[i])) {
                return &orbis_lead_tiers[t];
            }
        }
    }

    return &orbis_lead_unclear;
}


static int
orbis_lead_has_phrase(const char *text, const char *phrase)
{
    size_t       len;
    const char  *p;

    len = strlen(phrase);

    for (p = strstr(text, phrase); p != NULL; p = strstr(p + 1, phrase)) {
        if ((p == text || !isalnum((unsigned char) p[-1]))
            && !isalnum((unsigned char) p[len]))
        {
            return 1;
        }
    }

    return 0;
}
