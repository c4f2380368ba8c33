/*
 * Copyright (C) Orbis
 *
 * UTF-8 (RFC 3629): the one validator of the library.  Valid means no
 * overlong forms, no UTF-16 surrogates (U+D800..U+DFFF), nothing above
 * U+10FFFF and no sequence cut short.  The check is incremental, so that a
 * character split over two WebSocket fragments (or two reads) is judged
 * as a whole; the whole-string and one-character entry points below run
 * the same state machine.
 */

#ifndef ORBISCORE_UTF8_H
#define ORBISCORE_UTF8_H

#include <orbiscore/orbiscore.h>


/* the state of a check that goes on across calls */
typedef struct {
    uint32_t  cp;       /* the code point being assembled */
    uint8_t   need;     /* continuation bytes still expected */
    uint8_t   lo;       /* allowed range of the next continuation byte */
    uint8_t   hi;
    uint8_t   bad;      /* sticky: an invalid sequence was seen */
} orbis_utf8_t;


/* orbis_utf8_valid(): a NUL byte makes the text invalid */
#define ORBIS_UTF8_NO_NUL  0x01


void orbis_utf8_init(orbis_utf8_t *u);

/* checks len more bytes; 0 once an invalid sequence was seen */
int orbis_utf8_feed(orbis_utf8_t *u, const uint8_t *p, size_t len);

/* 1 if everything fed so far was valid and no character is left open */
int orbis_utf8_complete(const orbis_utf8_t *u);

/* 1 if p[0..len) is valid UTF-8; flags: 0 or ORBIS_UTF8_NO_NUL */
int orbis_utf8_valid(const void *p, size_t len, unsigned flags);

/* the same for a NUL-terminated string */
int orbis_utf8_valid_str(const char *s);

/*
 * Decodes the one character at s into *cp: the number of bytes it takes,
 * or 0 if it is not valid UTF-8 (or len is 0).
 */
size_t orbis_utf8_next(const uint8_t *s, size_t len, uint32_t *cp);

/*
 * The length of the longest prefix of valid UTF-8 p[0..len) that has at
 * most max bytes and does not split a character.
 */
size_t orbis_utf8_cut(const uint8_t *p, size_t len, size_t max);


#endif /* ORBISCORE_UTF8_H */
