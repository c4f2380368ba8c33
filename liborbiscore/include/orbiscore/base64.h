/*
 * Copyright (C) Orbis
 *
 * Standard base64 (RFC 4648 section 4, alphabet A-Z a-z 0-9 + /, '='
 * padding).  Audio travels through here every 20 ms in both directions, so
 * both directions are table-driven and write into memory the caller sized
 * with the helpers below; nothing is allocated.
 *
 * The decoder is strict: it refuses characters outside the alphabet
 * (whitespace, line breaks and the URL-safe '-' '_' included), '=' anywhere
 * but at the end, a wrong amount of padding, and a final quantum whose
 * unused low bits are not zero (a non-canonical encoding).  The one
 * tolerance a caller may ask for is ORBIS_BASE64_NOPAD_OK: input whose
 * trailing '=' were left out (as proto3 JSON parsers accept).
 */

#ifndef ORBISCORE_BASE64_H
#define ORBISCORE_BASE64_H

#include <orbiscore/orbiscore.h>


/* accept input without its trailing '=' padding (length % 4 of 2 or 3) */
#define ORBIS_BASE64_NOPAD_OK  0x01


/*
 * Characters orbis_base64_encode() writes for n input bytes (no NUL).
 * Returns 0 when the result would not fit in a size_t.
 */
size_t orbis_base64_encoded_len(size_t n);

/*
 * Bytes that decoding n characters can produce at most: the size of the
 * buffer orbis_base64_decode() needs.
 */
size_t orbis_base64_decoded_max(size_t n);

/*
 * Encodes n bytes of src into dst, which must hold
 * orbis_base64_encoded_len(n) characters.  Writes no NUL.  Returns the
 * number of characters written.
 */
size_t orbis_base64_encode(char *dst, const uint8_t *src, size_t n);

/*
 * Decodes n characters of src into dst, which must hold
 * orbis_base64_decoded_max(n) bytes, and stores the decoded length in
 * *dst_len.  flags: 0 or ORBIS_BASE64_NOPAD_OK.  Fails with
 * ORBIS_ERR_INVALID (and says where) on anything the strict rules above
 * refuse; *dst_len and dst are then unspecified.
 */
orbis_rc_t orbis_base64_decode(uint8_t *dst, size_t *dst_len,
    const char *src, size_t n, unsigned flags, orbis_err_t *err);


#endif /* ORBISCORE_BASE64_H */
