/* Image commands (Docker-style front ends over src/image). */
#include "cmd/cmd.h"

const struct vs_command vs_image_commands[] = {
        {NULL, NULL, NULL},
};
