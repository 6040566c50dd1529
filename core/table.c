/* table.c */
#include <config.h>
