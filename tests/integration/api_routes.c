/* SPDX-License-Identifier: Apache-2.0 */
/* api_routes.c -- a test helper: prints the control API's route table
 * (api_routes()), one route a line: "METHOD PATTERN ROLE", so the role
 * matrix (api_roles.sh) covers every route, new ones included.  Exit 0. */
#include <config.h>

#include <stdio.h>

#include "api/api.h"

int main(void)
{
    size_t i, n;
    const api_route *r = api_routes(&n);

    for (i = 0; i < n; i++)
        printf("%s %s %s\n", r[i].method, r[i].pattern, api_role_name(r[i].role));
    return 0;
}
