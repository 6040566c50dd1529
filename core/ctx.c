/* ctx.c */
#include <config.h>
