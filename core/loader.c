/* loader.c */
#include <config.h>
