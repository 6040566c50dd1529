/* state.c */
#include <config.h>
