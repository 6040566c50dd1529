/* daemon.c */
#include <config.h>
