/* cli.c */
#include <config.h>
