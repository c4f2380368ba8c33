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


#endif /* ORBIS_BASE_INT_H */
