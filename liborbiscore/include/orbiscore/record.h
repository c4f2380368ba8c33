/*
 * Copyright (C) Orbis
 *
 * A finished call's record, made ready for the conversations table.
 *
 * The session writes its record as it knows it (orbis_session_record_
 * json()); while the call runs, the record reaches Redis in pieces (the
 * settled turns in a list, the rest in one field; see docs/stream.md).
 * Whoever saves a call (the worker that ran it, or the sweeper when that
 * worker died) first puts the pieces together (orbis_record_assemble())
 * and then normalises the whole (orbis_record_normalize()): every decision
 * about what is kept is taken here, and the SQL function
 * orbis_save_conversation() only stores what it is given.
 *
 * Normalising:
 *  - a record that never ended (its worker died) ends at its last
 *    heartbeat, as an "error" with close code 1006, marked swept;
 *  - times: endedMs at or after startedMs, durationMs = endedMs -
 *    startedMs;
 *  - endReason one of the table's reasons, else "error"; closeCode an
 *    integer in 1000..4999 or null;
 *  - turns without text, or with an unknown role, are dropped; at most
 *    ORBIS_RECORD_MAX_TURNS turns and ORBIS_RECORD_MAX_TRANSCRIPT bytes of
 *    text are kept (whole turns), otherwise transcriptTruncated;
 *  - tool calls: a status other than ok, error, timeout or cancelled
 *    (a call still running when the record was taken) becomes
 *    "cancelled"; at most ORBIS_RECORD_MAX_TOOL_CALLS, arguments and
 *    results over ORBIS_RECORD_MAX_TOOL_JSON bytes are replaced by
 *    {"truncated":true};
 *  - counters are not negative;
 *  - time to first audio: "ttfaMs", one value per agent turn that
 *    answered the caller, keeps the non-negative integers up to
 *    ORBIS_RECORD_MAX_TTFA_MS (others are dropped), at most
 *    ORBIS_RECORD_MAX_TTFA of them; "ttfaP50Ms" and "ttfaP95Ms" are
 *    computed again from what was kept (nearest rank, the session's
 *    rule), whatever the record said; all three are null when no value
 *    is left (the call had no agent audio);
 *  - usageMonth, the calendar month (UTC) of startedMs, "YYYY-MM-01",
 *    is the month whose usage the call counts in.
 *
 * No I/O, no clock: the heartbeat time comes from the caller.
 */

#ifndef ORBISCORE_RECORD_H
#define ORBISCORE_RECORD_H

#include <jansson.h>

#include <orbiscore/orbiscore.h>


#define ORBIS_RECORD_MAX_TURNS        10000
#define ORBIS_RECORD_MAX_TRANSCRIPT   (1024 * 1024)   /* bytes of text */
#define ORBIS_RECORD_MAX_TOOL_CALLS   128
#define ORBIS_RECORD_MAX_TOOL_JSON    (16 * 1024)     /* args or result */
#define ORBIS_RECORD_MAX_TTFA         1024    /* time-to-first-audio values */
#define ORBIS_RECORD_MAX_TTFA_MS      86400000        /* one value, a day */

/*
 * The largest record text (the Redis "record" field, or one list item) a
 * saver takes in at all: one above this is not read (it could only be a
 * record no current build writes) and is skipped as unsaveable.
 */
#define ORBIS_RECORD_MAX_TEXT         (8 * 1024 * 1024)


typedef enum {
    ORBIS_RECORD_BY_WORKER = 0,   /* the worker that ran the call */
    ORBIS_RECORD_BY_SWEEPER       /* from the state kept in Redis */
} orbis_record_source_t;


typedef struct {
    const char             *key_id;        /* API key's id; NULL, "": none */
    int64_t                 heartbeat_ms;  /* last heartbeat; -1: unknown */
    orbis_record_source_t   source;
    uint32_t                attempts;      /* this save's number, from 1 */
} orbis_record_opts_t;


/*
 * Puts a record taken from Redis back together: head is the record field
 * (a session record whose "turns" are the unsettled tail, and
 * "turnsFrom" the number of turns before it), settled the list's items,
 * each one turn as JSON text.  Items the head does not account for are
 * ignored; missing or unreadable ones make the record transcriptTruncated.
 * A head without "turnsFrom" is a whole record and the list is ignored.
 * Changes head in place.
 */
orbis_rc_t orbis_record_assemble(json_t *head, const orbis_slice_t *settled,
    size_t n, orbis_err_t *err);

/*
 * The record as orbis_save_conversation() takes it, a new reference in
 * *out:
 * {"id","tenantId","agentId","keyId","mode","model","startedMs","endedMs",
 *  "durationMs","endReason","closeCode","audioSecondsIn","audioSecondsOut",
 *  "resumptions","promptTokens","responseTokens","totalTokens",
 *  "turnCount","transcriptTruncated","swept","source","attempts",
 *  "usageMonth","ttfaMs":[ms,...] or null,"ttfaP50Ms","ttfaP95Ms",
 *  "turns":[{"role","text","atMs","typed","interrupted"}],
 *  "toolCalls":[{"callId","name","status","args","result","startedMs",
 *                "finishedMs"}]}
 * ORBIS_ERR_INVALID (with a message) when the record has no usable
 * session id, tenant, agent or start time: no save could succeed.
 */
orbis_rc_t orbis_record_normalize(const json_t *record,
    const orbis_record_opts_t *opts, json_t **out, orbis_err_t *err);

/*
 * The first day of the calendar month (UTC) of a time in milliseconds
 * since the epoch, as "YYYY-MM-01" into buf (at least 11 bytes).
 */
void orbis_record_usage_month(int64_t ms, char *buf);

/*
 * The pct-th percentile (1..100) of v[0..n) by nearest rank (the smallest
 * value with at least pct % of them at or below it), the rule of
 * orbis_session_ttfa_percentile(); v is sorted in place.  -1 when n is 0
 * or pct is out of range.
 */
int64_t orbis_record_percentile(int64_t *v, size_t n, unsigned pct);

const char *orbis_record_source_name(orbis_record_source_t s);


#endif /* ORBISCORE_RECORD_H */
