#ifndef DSRC_CORE_CLI_H
#define DSRC_CORE_CLI_H
#endif
