/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity_gcp.c -- the gcp provider of identity.h.
 */
#include <config.h>

#include "secret/identity_int.h"

static int gcp_wanted(const cfg_source *cs)
{
    (void)cs;
    return 0;
}

static dsrc_status gcp_token(const cfg_source *cs, const char *key_file,
                              const identity_target *t, char **token, identity_info *info,
                              derr *e)
{
    (void)key_file;
    (void)t;
    (void)token;
    (void)info;
    return derr_set(e, DSRC_E_UNSUPPORTED, "source '%s': no gcp identity", cs->name);
}

const identity_provider identity_gcp = {"gcp", "", gcp_wanted, gcp_token};
