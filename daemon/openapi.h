/* SPDX-License-Identifier: Apache-2.0 */
/*
 * openapi.h -- the control API's OpenAPI document (docs/openapi.json),
 * compiled into dsrcd: daemon/openapi_doc.c is generated from the file at
 * build time (daemon/local.mk), so GET /openapi.json answers it byte for
 * byte.  The bytes are not NUL-terminated.
 */
#ifndef DSRC_DAEMON_OPENAPI_H
#define DSRC_DAEMON_OPENAPI_H

#include <stddef.h>

extern const unsigned char openapi_doc[];
extern const size_t openapi_doc_len;

#endif
