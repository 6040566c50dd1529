#ifndef DSRC_CORE_FETCH_H
#define DSRC_CORE_FETCH_H
#endif
