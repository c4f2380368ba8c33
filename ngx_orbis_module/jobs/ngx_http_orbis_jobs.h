
/*
 * Copyright (C) Orbis
 */


#ifndef _NGX_HTTP_ORBIS_JOBS_H_INCLUDED_
#define _NGX_HTTP_ORBIS_JOBS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_orbis_module.h"


/* ngx_http_orbis_tenants.c: config-file tenants, reconciled by a worker */
char *ngx_http_orbis_tenants_conf(ngx_conf_t *cf,
    ngx_http_orbis_main_conf_t *omcf);
void ngx_http_orbis_tenants_init_process(ngx_cycle_t *cycle);

/*
 * ngx_http_orbis_sweeper.c: saves the calls whose worker died, started by
 * ngx_http_orbis_module's init_process (after the worker's Postgres pool
 * and Redis link exist) when some location has orbis_stream.
 */
ngx_int_t ngx_http_orbis_sweeper_init_process(ngx_cycle_t *cycle);
void ngx_http_orbis_sweeper_exit_process(ngx_cycle_t *cycle);

#endif /* _NGX_HTTP_ORBIS_JOBS_H_INCLUDED_ */
