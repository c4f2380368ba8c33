/*
 * Copyright (C) Orbis
 *
 * The allocator liborbiscore uses for everything it allocates, and hands
 * to Jansson, so that an embedding program can count, pool or fail
 * allocations (the unit tests inject failures through it).  In the manner
 * of hiredis's alloc.h: set it once, before any other call, and never
 * while objects made with the previous one are alive.
 */

#ifndef ORBISCORE_ALLOC_H
#define ORBISCORE_ALLOC_H

#include <stddef.h>


typedef struct {
    void  *(*malloc_fn)(size_t size);
    void  *(*calloc_fn)(size_t n, size_t size);
    void  *(*realloc_fn)(void *p, size_t size);
    void   (*free_fn)(void *p);
} orbis_allocators_t;


/*
 * Installs a (every member set) and returns the previous set; NULL puts
 * libc's back.  Jansson gets a's malloc and free too.
 */
orbis_allocators_t orbis_set_allocators(const orbis_allocators_t *a);

void *orbis_malloc(size_t size);
void *orbis_calloc(size_t n, size_t size);
void *orbis_realloc(void *p, size_t size);
void orbis_free(void *p);

/* a copy of s (of its first n bytes, NUL added) from orbis_malloc */
char *orbis_strdup(const char *s);
char *orbis_strndup(const char *s, size_t n);


#endif /* ORBISCORE_ALLOC_H */
