#include <dsrc/plugin.h>
DSRC_PLUGIN_ABI();
