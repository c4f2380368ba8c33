/*
 * Copyright (C) Orbis
 *
 * orbis_strbuf_t, the growable byte buffer the wire builders (client.h,
 * gemini.h) and the session's action lists append to.  A caller that
 * keeps one per call and resets it between messages allocates nothing
 * once the buffer has grown to its working size, which matters for audio
 * sent every 20 ms.
 */

#ifndef ORBISCORE_STRBUF_H
#define ORBISCORE_STRBUF_H

#include <jansson.h>

#include <orbiscore/orbiscore.h>


/* growable buffer: data is NUL-terminated after len once anything is in */
typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
} orbis_strbuf_t;


/* a buffer with no memory yet; a zeroed struct is the same */
void orbis_strbuf_init(orbis_strbuf_t *b);

/* empties the buffer but keeps its memory for reuse */
void orbis_strbuf_reset(orbis_strbuf_t *b);

/* releases the memory; the buffer is empty and usable again afterwards */
void orbis_strbuf_free(orbis_strbuf_t *b);

/* makes room for n more bytes (plus the NUL) */
orbis_rc_t orbis_strbuf_reserve(orbis_strbuf_t *b, size_t n);

orbis_rc_t orbis_strbuf_append(orbis_strbuf_t *b, const void *p, size_t n);

/*
 * Appends the compact JSON text of j.  On failure the buffer keeps its
 * previous length.
 */
orbis_rc_t orbis_strbuf_append_json(orbis_strbuf_t *b, const json_t *j,
    orbis_err_t *err);


#endif /* ORBISCORE_STRBUF_H */
