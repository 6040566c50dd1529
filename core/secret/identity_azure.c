/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity_azure.c -- the azure provider of identity.h.
 */
#include <config.h>

#include "secret/identity_int.h"

static int azure_wanted(const cfg_source *cs)
{
    (void)cs;
    return 0;
}

static dsrc_status azure_token(const cfg_source *cs, const char *key_file,
                              const identity_target *t, char **token, identity_info *info,
                              derr *e)
{
    (void)key_file;
    (void)t;
    (void)token;
    (void)info;
    return derr_set(e, DSRC_E_UNSUPPORTED, "source '%s': no azure identity", cs->name);
}

const identity_provider identity_azure = {"azure", "", azure_wanted, azure_token};
