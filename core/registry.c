/* registry.c */
#include <config.h>
