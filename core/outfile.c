/* outfile.c */
#include <config.h>
