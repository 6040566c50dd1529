/* source.c */
#include <config.h>
