/* schedule.c */
#include <config.h>
