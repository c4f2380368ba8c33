/*
 * Copyright (C) Orbis
 *
 * Helpers shared by the gemini, client and session areas; not installed.
 */

#ifndef ORBIS_GEMINI_INT_H
#define ORBIS_GEMINI_INT_H

#include <orbiscore/gemini.h>


/*
 * 1 when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates) and
 * has no NUL: every text we handle is also a C string somewhere
 */
int orbis_gemini_utf8_valid(const char *s, size_t n);

/* 1 when s (NUL-terminated) is well-formed UTF-8 */
int orbis_gemini_utf8_valid_str(const char *s);

/* ASCII case-insensitive substring test */
int orbis_gemini_contains_nocase(const char *hay, const char *needle);


#endif /* ORBIS_GEMINI_INT_H */
