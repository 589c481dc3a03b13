/* Engine commands (Docker-style front ends over src/engine). */
#include "cmd/cmd.h"

const struct vs_command vs_engine_commands[] = {
        {NULL, NULL, NULL},
};
