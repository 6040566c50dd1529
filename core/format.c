/* format.c */
#include <config.h>
