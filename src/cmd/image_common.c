/* Shared by the image command front ends (image_cmd.h). */
#include "cmd/image_cmd.h"

#include <stdio.h>
#include <string.h>

/* The engine, when linked in, tells the store which images its containers
 * use (vs_store_set_in_use_check); without it nothing counts as in use. */
extern void vs_engine_register_image_checks(struct vs_store *s) __attribute__((weak));

int vs_cmd_open_store(struct vs_store **s, vs_error **err)
{
        if (vs_store_open(vs_globals.data_root, s, err) < 0)
                return -1;
        if (vs_engine_register_image_checks)
                vs_engine_register_image_checks(*s);
        return 0;
}
