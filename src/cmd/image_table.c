/* Image commands (Docker-style front ends over src/image). */
#include "cmd/image_cmd.h"

#include <stdio.h>
#include <string.h>

const struct vs_command vs_image_commands[] = {
    {"images", cmd_images, "list images"},
    {"image", cmd_image, "manage images (ls, rm, tag, inspect, history, load, save, ...)"},
    {"tag", cmd_tag, "give an image another name"},
    {"rmi", cmd_rmi, "remove images"},
    {"history", cmd_history, "show how an image was made, layer by layer"},
    {"load", cmd_load, "load images from a docker-archive or oci-archive"},
    {"save", cmd_save, "save images to a docker-archive or oci-archive"},
    {"import", cmd_import, "make an image from a root filesystem tarball"},
    {"pull", cmd_pull, "copy an image from a registry, or an OCI layout (oci:PATH[:TAG])"},
    {"push", cmd_push, "upload an image to a registry"},
    {"login", cmd_login, "store credentials for a registry"},
    {"logout", cmd_logout, "remove stored credentials for a registry"},
    {"system", cmd_system, "check the image store, or remove what no image uses"},
    {NULL, NULL, NULL},
};

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

static const struct vs_command image_subcommands[] = {
    {"ls", cmd_images, "list images"},
    {"list", cmd_images, NULL},
    {"rm", cmd_rmi, "remove images"},
    {"remove", cmd_rmi, NULL},
    {"tag", cmd_tag, "give an image another name"},
    {"inspect", cmd_image_inspect, "print images' details as JSON"},
    {"history", cmd_history, "show how an image was made"},
    {"load", cmd_load, "load images from an archive"},
    {"save", cmd_save, "save images to an archive"},
    {"import", cmd_import, "make an image from a root filesystem tarball"},
    {"pull", cmd_pull, "copy an image from a registry or an OCI layout"},
    {"push", cmd_push, "upload an image to a registry"},
    {"prune", cmd_image_prune, "remove untagged images no container uses"},
    {NULL, NULL, NULL},
};

static void image_usage(FILE *f)
{
        fprintf(f, "Usage: vessel image COMMAND [OPTIONS]\n\nManage images.\n\nCommands:\n");
        for (size_t i = 0; image_subcommands[i].name; i++)
                if (image_subcommands[i].summary)
                        fprintf(f, "  %-9s %s\n", image_subcommands[i].name,
                                image_subcommands[i].summary);
        fprintf(f, "\nRun 'vessel image COMMAND --help' for a command's options.\n");
}

int cmd_image(int argc, char **argv)
{
        if (argc < 2) {
                image_usage(stderr);
                return 2;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                image_usage(stdout);
                return 0;
        }
        for (size_t i = 0; image_subcommands[i].name; i++)
                if (strcmp(image_subcommands[i].name, argv[1]) == 0)
                        return image_subcommands[i].fn(argc - 1, argv + 1);
        return vs_usage_error("image", "unknown command '%s'", argv[1]);
}
