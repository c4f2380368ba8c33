/*
 * Copyright (C) Orbis
 *
 * Base64 (RFC 4648), the one codec of the library, in its two alphabets:
 *
 *   standard (section 4: A-Z a-z 0-9 + /, '=' padding): audio to and from
 *   Gemini every 20 ms, WebSocket handshake keys;
 *
 *   url-safe (section 5: '-' '_' for '+' '/', never padded, as JWS and
 *   JWT write it): tokens, API keys, page cursors, referral codes.
 *
 * Both directions are table-driven and allocate nothing.  The decoder is
 * strict: it refuses characters outside the alphabet (whitespace, line
 * breaks and the other alphabet's two characters included), '=' anywhere
 * but at the end, a wrong amount of padding, and a final quantum whose
 * unused low bits are not zero (a non-canonical encoding), so that every
 * byte string has exactly one accepted encoding.
 */

#ifndef ORBISCORE_BASE64_H
#define ORBISCORE_BASE64_H

#include <orbiscore/orbiscore.h>


/* decoding flags */

/* accept input without its trailing '=' padding (as proto3 JSON does) */
#define ORBIS_BASE64_NOPAD_OK  0x01

/* the url-safe alphabet, no padding (an '=' is refused) */
#define ORBIS_BASE64_URL       0x02


/*
 * Characters orbis_base64_encode() writes for n input bytes (no NUL).
 * Returns 0 when the result would not fit in a size_t.
 */
size_t orbis_base64_encoded_len(size_t n);

/*
 * Bytes that decoding n characters can produce at most, in either
 * alphabet: the size of the buffer orbis_base64_decode() needs.
 */
size_t orbis_base64_decoded_max(size_t n);

/*
 * Standard alphabet, padded.  Encodes n bytes of src into dst, which must
 * hold orbis_base64_encoded_len(n) characters.  Writes no NUL.  Returns
 * the number of characters written.
 */
size_t orbis_base64_encode(char *dst, const uint8_t *src, size_t n);

/*
 * Decodes n characters of src into dst, which must hold
 * orbis_base64_decoded_max(n) bytes, and stores the decoded length in
 * *dst_len.  flags: ORBIS_BASE64_NOPAD_OK, ORBIS_BASE64_URL or 0.  Fails
 * with ORBIS_ERR_INVALID (and says where) on anything the strict rules
 * above refuse; *dst_len and dst are then unspecified.
 */
orbis_rc_t orbis_base64_decode(uint8_t *dst, size_t *dst_len,
    const char *src, size_t n, unsigned flags, orbis_err_t *err);

/*
 * The number of characters at the start of s[0..n) that belong to the
 * alphabet flags choose ('=' does not): n when all of them do.
 */
size_t orbis_base64_span(const char *s, size_t n, unsigned flags);


/*
 * The url-safe alphabet, without padding, into and out of buffers of a
 * size the caller states.
 */

#define ORBIS_BASE64URL_ENCODED_LEN(n)  (((n) * 4 + 2) / 3)
#define ORBIS_BASE64URL_DECODED_MAX(n)  ((n) * 3 / 4)

/*
 * Writes the encoding of in[0..len) and a NUL into out; *outlen (when not
 * NULL) gets the length without the NUL.  ORBIS_ERR_RANGE when outsz is
 * smaller than ORBIS_BASE64URL_ENCODED_LEN(len) + 1.
 */
orbis_rc_t orbis_base64url_encode(const uint8_t *in, size_t len, char *out,
    size_t outsz, size_t *outlen);

/*
 * Strict decoding as above.  ORBIS_ERR_INVALID for bad input,
 * ORBIS_ERR_RANGE when out is smaller than
 * ORBIS_BASE64URL_DECODED_MAX(len).
 */
orbis_rc_t orbis_base64url_decode(const char *in, size_t len, uint8_t *out,
    size_t outsz, size_t *outlen);


#endif /* ORBISCORE_BASE64_H */
