#ifndef DSRC_CORE_TABLE_H
#define DSRC_CORE_TABLE_H
#endif
