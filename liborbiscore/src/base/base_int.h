/*
 * Copyright (C) Orbis
 *
 * Helpers of the base area that the other areas share; not installed.
 * Names marked ORBIS_BASE_HIDDEN stay inside liborbiscore.so: the export
 * list would otherwise publish every orbis_* symbol.
 */

#ifndef ORBIS_BASE_INT_H
#define ORBIS_BASE_INT_H

#include <orbiscore/alloc.h>


#if defined(__GNUC__)
#define ORBIS_BASE_HIDDEN  __attribute__((visibility("hidden")))
#else
#define ORBIS_BASE_HIDDEN
#endif


/*
 * A copy of s from orbis_malloc, NULL for a NULL s; a copy that cannot be
 * made sets *failed (so that several copies are checked once)
 */
ORBIS_BASE_HIDDEN char *orbis_strdup_or_flag(const char *s, int *failed);

/*
 * Room for one more in an array of n items of size bytes each that has
 * room for *cap: items itself while n < *cap, else items reallocated to
 * twice *cap (first when *cap is 0), *cap updated; NULL when out of memory
 * (items and *cap are left as they were)
 */
ORBIS_BASE_HIDDEN void *orbis_array_room(void *items, size_t n, size_t *cap,
    size_t first, size_t size);


#endif /* ORBIS_BASE_INT_H */
