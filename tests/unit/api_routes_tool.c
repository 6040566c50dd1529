/* SPDX-License-Identifier: Apache-2.0 */
/* api_routes_tool.c -- prints the control API's route table (api_routes()),
 * one route a line: "METHOD PATTERN ROLE"; used by
 * tests/integration/openapi.sh to compare it with docs/openapi.json. */
#include <config.h>

#include <stdio.h>

#include "api/api.h"

int main(void)
{
    size_t i, n;
    const api_route *r = api_routes(&n);

    for (i = 0; i < n; i++)
        printf("%s %s %s\n", r[i].method, r[i].pattern, api_role_name(r[i].role));
    return fflush(stdout) == 0 ? 0 : 1;
}
