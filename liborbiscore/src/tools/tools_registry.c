/*
 * Copyright (C) Orbis
 *
 * The registry: tool definitions by name, and the functionDeclarations
 * built from them for an agent's setup message.
 */


#include <stdlib.h>
#include <string.h>

#include <orbiscore/alloc.h>
#include "tools_int.h"


static orbis_rc_t orbis_tools_check_def(const orbis_tools_t *tools,
    const orbis_tool_t *def, orbis_err_t *err);
static int orbis_tools_name_ok(const char *name);
static void orbis_tools_entry_free(orbis_tools_entry_t *e);
static json_t *orbis_tools_declaration(const orbis_tools_entry_t *e);


orbis_tools_t *
orbis_tools_new(void)
{
    return orbis_calloc(1, sizeof(orbis_tools_t));
}


void
orbis_tools_free(orbis_tools_t *tools)
{
    size_t  i;

    if (tools == NULL) {
        return;
    }

    for (i = 0; i < tools->n; i++) {
        orbis_tools_entry_free(tools->entries[i]);
    }

    orbis_free(tools->entries);
    orbis_free(tools->names);
    orbis_free(tools);
}


orbis_rc_t
orbis_tools_register(orbis_tools_t *tools, const orbis_tool_t *def,
    orbis_err_t *err)
{
    size_t                cap;
    orbis_rc_t            rc;
    const char          **names;
    json_error_t          jerr;
    orbis_tools_entry_t  *e, **entries;

    rc = orbis_tools_check_def(tools, def, err);
    if (rc != ORBIS_OK) {
        return rc;
    }

    e = orbis_calloc(1, sizeof(orbis_tools_entry_t));
    if (e == NULL) {
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    e->tool = *def;
    e->tool.name = orbis_strdup(def->name);
    e->tool.description = orbis_strdup(def->description);
    e->tool.parameters = NULL;

    if (e->tool.timeout_ms == 0) {
        e->tool.timeout_ms = ORBIS_TOOL_DEFAULT_TIMEOUT_MS;
    }

    if (e->tool.name == NULL || e->tool.description == NULL) {
        orbis_tools_entry_free(e);
        return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
    }

    if (def->parameters != NULL) {
        e->schema = json_loads(def->parameters, JSON_REJECT_DUPLICATES,
                               &jerr);

        if (e->schema == NULL) {
            orbis_tools_entry_free(e);

            if (json_error_code(&jerr) == json_error_out_of_memory) {
                return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
            }

            return orbis_err_set(err, ORBIS_ERR_INVALID,
                                 "tool %s: parameters: %s at %d:%d",
                                 def->name, jerr.text, jerr.line,
                                 jerr.column);
        }

        rc = orbis_tools_schema_check(e->schema, err);
        if (rc != ORBIS_OK) {
            orbis_tools_entry_free(e);
            return rc;
        }
    }

    if (tools->n == tools->cap) {
        cap = tools->cap ? tools->cap * 2 : 8;

        entries = orbis_realloc(tools->entries, cap * sizeof(*entries));
        if (entries == NULL) {
            orbis_tools_entry_free(e);
            return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        }

        tools->entries = entries;

        names = orbis_realloc(tools->names, cap * sizeof(*names));
        if (names == NULL) {
            orbis_tools_entry_free(e);
            return orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        }

        tools->names = names;
        tools->cap = cap;
    }

    tools->entries[tools->n] = e;
    tools->names[tools->n] = e->tool.name;
    tools->n++;

    return ORBIS_OK;
}


orbis_rc_t
orbis_tools_register_builtin(orbis_tools_t *tools, orbis_err_t *err)
{
    if (orbis_tools_register(tools, &orbis_tools_score_lead, err)
        != ORBIS_OK)
    {
        return err != NULL ? err->code : ORBIS_ERR_INVALID;
    }

    if (orbis_tools_register(tools, &orbis_tools_generate_tone, err)
        != ORBIS_OK)
    {
        return err != NULL ? err->code : ORBIS_ERR_INVALID;
    }

    return ORBIS_OK;
}


const orbis_tool_t *
orbis_tools_find(const orbis_tools_t *tools, const char *name)
{
    size_t  i;

    if (name == NULL) {
        return NULL;
    }

    for (i = 0; i < tools->n; i++) {
        if (strcmp(tools->entries[i]->tool.name, name) == 0) {
            return &tools->entries[i]->tool;
        }
    }

    return NULL;
}


const char *const *
orbis_tools_names(const orbis_tools_t *tools, size_t *n)
{
    *n = tools->n;

    return tools->names;
}


const json_t *
orbis_tool_schema(const orbis_tool_t *tool)
{
    /* every tool a caller can get hold of lives in an entry */
    return ((const orbis_tools_entry_t *) tool)->schema;
}


json_t *
orbis_tools_declarations(const orbis_tools_t *tools,
    const char *const *names, size_t n, orbis_err_t *err)
{
    size_t                      i, j;
    json_t                     *arr, *d;
    const orbis_tool_t         *t;
    const orbis_tools_entry_t  *e;

    arr = json_array();
    if (arr == NULL) {
        orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
        return NULL;
    }

    if (names == NULL) {
        n = tools->n;
    }

    for (i = 0; i < n; i++) {
        if (names == NULL) {
            e = tools->entries[i];

        } else {
            t = orbis_tools_find(tools, names[i]);

            if (t == NULL) {
                json_decref(arr);
                orbis_err_set(err, ORBIS_ERR_NOT_FOUND, "unknown tool %.64s",
                              names[i] ? names[i] : "(null)");
                return NULL;
            }

            /* Gemini refuses a setup that declares a function twice */
            for (j = 0; j < i; j++) {
                if (strcmp(names[j], names[i]) == 0) {
                    json_decref(arr);
                    orbis_err_set(err, ORBIS_ERR_INVALID,
                                  "tool %.64s listed twice", names[i]);
                    return NULL;
                }
            }

            e = (const orbis_tools_entry_t *) t;
        }

        d = orbis_tools_declaration(e);

        if (d == NULL || json_array_append_new(arr, d) != 0) {
            json_decref(arr);
            orbis_err_set(err, ORBIS_ERR_NOMEM, "out of memory");
            return NULL;
        }
    }

    return arr;
}


static json_t *
orbis_tools_declaration(const orbis_tools_entry_t *e)
{
    json_t  *d;

    d = json_pack("{s:s, s:s}", "name", e->tool.name,
                  "description", e->tool.description);
    if (d == NULL) {
        return NULL;
    }

    /* a deep copy, so that callers may edit the setup message freely */
    if (e->schema != NULL
        && json_object_set_new(d, "parameters", json_deep_copy(e->schema))
           != 0)
    {
        json_decref(d);
        return NULL;
    }

    /* BLOCKING is the default; some models refuse the field altogether */
    if (e->tool.behavior == ORBIS_TOOL_NON_BLOCKING
        && json_object_set_new(d, "behavior", json_string("NON_BLOCKING"))
           != 0)
    {
        json_decref(d);
        return NULL;
    }

    return d;
}


static orbis_rc_t
orbis_tools_check_def(const orbis_tools_t *tools, const orbis_tool_t *def,
    orbis_err_t *err)
{
    if (tools == NULL || def == NULL) {
        return orbis_err_set(err, ORBIS_ERR_INVALID, "no tool");
    }

    if (def->name == NULL || !orbis_tools_name_ok(def->name)) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "tool name \"%.64s\" is not valid: a letter or "
                             "_ then letters, digits, _ . : -, at most %d",
                             def->name ? def->name : "", ORBIS_TOOL_NAME_MAX);
    }

    if (orbis_tools_find(tools, def->name) != NULL) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "tool %s is already registered", def->name);
    }

    if (def->description == NULL || def->description[0] == '\0') {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "tool %s: a description is required",
                             def->name);
    }

    if (def->run == NULL) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "tool %s: no handler", def->name);
    }

    if (def->behavior != ORBIS_TOOL_BLOCKING
        && def->behavior != ORBIS_TOOL_NON_BLOCKING)
    {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "tool %s: unknown behavior", def->name);
    }

    if (def->timeout_ms > ORBIS_TOOL_MAX_TIMEOUT_MS) {
        return orbis_err_set(err, ORBIS_ERR_INVALID,
                             "tool %s: timeout over %d ms", def->name,
                             ORBIS_TOOL_MAX_TIMEOUT_MS);
    }

    return ORBIS_OK;
}


static int
orbis_tools_name_ok(const char *name)
{
    size_t  i;
    char    c;

    /* Gemini's rule for FunctionDeclaration.name */
    for (i = 0; name[i] != '\0'; i++) {
        if (i == ORBIS_TOOL_NAME_MAX) {
            return 0;
        }

        c = name[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
            continue;
        }

        if (i > 0 && ((c >= '0' && c <= '9') || c == '.' || c == ':'
                      || c == '-'))
        {
            continue;
        }

        return 0;
    }

    return i > 0;
}


static void
orbis_tools_entry_free(orbis_tools_entry_t *e)
{
    orbis_free((char *) e->tool.name);
    orbis_free((char *) e->tool.description);
    json_decref(e->schema);
    orbis_free(e);
}
