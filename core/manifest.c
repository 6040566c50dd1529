/* manifest.c */
#include <config.h>
