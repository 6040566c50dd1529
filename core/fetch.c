/* fetch.c */
#include <config.h>
