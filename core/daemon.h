#ifndef DSRC_CORE_DAEMON_H
#define DSRC_CORE_DAEMON_H
#endif
