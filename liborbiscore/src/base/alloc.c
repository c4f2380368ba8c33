/*
 * Copyright (C) Orbis
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <orbiscore/alloc.h>

#include "base/base_int.h"


static orbis_allocators_t  orbis_allocators = {
    malloc, calloc, realloc, free
};


orbis_allocators_t
orbis_set_allocators(const orbis_allocators_t *a)
{
    orbis_allocators_t  prev;

    prev = orbis_allocators;

    if (a == NULL) {
        orbis_allocators.malloc_fn = malloc;
        orbis_allocators.calloc_fn = calloc;
        orbis_allocators.realloc_fn = realloc;
        orbis_allocators.free_fn = free;

    } else {
        orbis_allocators = *a;
    }

    json_set_alloc_funcs(orbis_allocators.malloc_fn,
                         orbis_allocators.free_fn);

    return prev;
}


void *
orbis_malloc(size_t size)
{
    return orbis_allocators.malloc_fn(size);
}


void *
orbis_calloc(size_t n, size_t size)
{
    return orbis_allocators.calloc_fn(n, size);
}


void *
orbis_realloc(void *p, size_t size)
{
    return orbis_allocators.realloc_fn(p, size);
}


void
orbis_free(void *p)
{
    orbis_allocators.free_fn(p);
}


char *
orbis_strdup(const char *s)
{
    return orbis_strndup(s, strlen(s));
}


char *
orbis_strndup(const char *s, size_t n)
{
    char  *p;

    p = orbis_allocators.malloc_fn(n + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, n);
    p[n] = '\0';

    return p;
}


char *
orbis_strdup_or_flag(const char *s, int *failed)
{
    char  *d;

    if (s == NULL) {
        return NULL;
    }

    d = orbis_strdup(s);
    if (d == NULL) {
        *failed = 1;
    }

    return d;
}


void *
orbis_array_room(void *items, size_t n, size_t *cap, size_t first,
    size_t size)
{
    size_t   c;
    void    *p;

    if (n < *cap) {
        return items;
    }

    c = (*cap == 0) ? first : *cap * 2;

    if (c < *cap || c > SIZE_MAX / size) {
        return NULL;
    }

    p = orbis_realloc(items, c * size);
    if (p == NULL) {
        return NULL;
    }

    *cap = c;

    return p;
}
