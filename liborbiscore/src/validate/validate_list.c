/*
 * Copyright (C) Orbis
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "validate_int.h"


orbis_rc_t
orbis_vlist_add(char ***items, size_t *n, char *s)
{
    char  **p;

    p = orbis_realloc(*items, (*n + 1) * sizeof(char *));
    if (p == NULL) {
        orbis_free(s);
        return ORBIS_ERR_NOMEM;
    }

    p[(*n)++] = s;
    *items = p;

    return ORBIS_OK;
}


int
orbis_vlist_has(char *const *items, size_t n, const char *s)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcmp(items[i], s) == 0) {
            return 1;
        }
    }

    return 0;
}


void
orbis_vlist_free(char **items, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        orbis_free(items[i]);
    }

    orbis_free(items);
}
