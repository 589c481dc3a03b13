/* vessel system df: disk use by images, containers and volumes, as
 * Docker's (TYPE TOTAL ACTIVE SIZE RECLAIMABLE; --format with Type,
 * TotalCount, Active, Size, Reclaimable). A container's size is its
 * writable layer; a volume's, its data. */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>

#define DF_TABLE "{{.Type}}\\t{{.TotalCount}}\\t{{.Active}}\\t{{.Size}}\\t{{.Reclaimable}}"

static int64_t tree_bytes;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void) path;
        (void) flag;
        (void) ftw;
        tree_bytes += (int64_t) st->st_blocks * 512;
        return 0;
}

/* Disk use of a tree, not following links nor crossing mounts. */
static int64_t du(const char *path)
{
        tree_bytes = 0;
        nftw(path, add_size, 32, FTW_PHYS | FTW_MOUNT);
        return tree_bytes;
}

static json_object *df_row(const char *type, size_t total, size_t active, int64_t size,
                           int64_t reclaimable)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "Type", json_object_new_string(type));
        _cleanup_free_ char *t = xasprintf("%zu", total), *a = xasprintf("%zu", active);
        json_object_object_add(o, "TotalCount", json_object_new_string(t));
        json_object_object_add(o, "Active", json_object_new_string(a));
        _cleanup_free_ char *s = vs_human_size(size), *r = vs_human_size(reclaimable);
        json_object_object_add(o, "Size", json_object_new_string(s));
        _cleanup_free_ char *rec =
            size > 0 ? xasprintf("%s (%d%%)", r, (int) (reclaimable * 100 / size)) : xstrdup(r);
        json_object_object_add(o, "Reclaimable", json_object_new_string(rec));
        return o;
}

int vs_cmd_system_df(int argc, char **argv)
{
        const char *format = NULL;
        const struct vs_option opts[] = {
            {"format", 0, VS_OPT_STRING, &format, "T", "a Go template, or json"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"system df", "[--format T]",
                                "Show the disk space used by images, containers and volumes.", opts,
                                VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("system df", "unexpected argument '%s'", argv[first]);
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        struct vs_ctr **v = NULL;
        size_t n = 0;
        struct vs_store *store;
        struct vs_image_summary *imgs = NULL;
        size_t ni = 0;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_list(e, &v, &n, &err) < 0)
                return vs_report_error(&err);
        if (vs_engine_store(e, &store, &err) < 0 || vs_image_list(store, &imgs, &ni, &err) < 0) {
                vs_ctr_list_free(v, n);
                return vs_report_error(&err);
        }
        /* containers: the writable layer; active: running */
        size_t running = 0;
        int64_t csize = 0, creclaim = 0;
        _cleanup_strv_ char **used_images = xcalloc(1, sizeof(char *));
        _cleanup_strv_ char **used_volumes = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                vs_ctr_refresh(e, v[i]);
                _cleanup_free_ char *upper = xasprintf("%s/upper", v[i]->dir);
                int64_t s = du(upper);
                csize += s;
                if (v[i]->state.running)
                        running++;
                else
                        creclaim += s;
                if (v[i]->image_id && !strv_contains(used_images, v[i]->image_id))
                        strv_push(&used_images, v[i]->image_id);
                for (size_t k = 0; v[i]->mounts && k < json_object_array_length(v[i]->mounts);
                     k++) {
                        json_object *nm = json_object_object_get(
                            json_object_array_get_idx(v[i]->mounts, k), "Name");
                        if (nm && !strv_contains(used_volumes, json_object_get_string(nm)))
                                strv_push(&used_volumes, json_object_get_string(nm));
                }
        }
        int64_t isize = 0, ireclaim = 0;
        size_t iactive = 0;
        for (size_t i = 0; i < ni; i++) {
                isize += imgs[i].size;
                if (strv_contains(used_images, imgs[i].id))
                        iactive++;
                else
                        ireclaim += imgs[i].size;
        }
        /* volumes */
        size_t nv = 0, vactive = 0;
        int64_t vsize = 0, vreclaim = 0;
        _cleanup_free_ char *vdir = xasprintf("%s/volumes", e->data_root);
        _cleanup_closedir_ DIR *d = opendir(vdir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *data = xasprintf("%s/%s/_data", vdir, de->d_name);
                int64_t s = du(data);
                if (s == 0 && access(data, F_OK) != 0)
                        continue;
                nv++;
                vsize += s;
                if (strv_contains(used_volumes, de->d_name))
                        vactive++;
                else
                        vreclaim += s;
        }
        _cleanup_json_ json_object *rows = json_object_new_array();
        json_object_array_add(rows, df_row("Images", ni, iactive, isize, ireclaim));
        json_object_array_add(rows, df_row("Containers", n, running, csize, creclaim));
        json_object_array_add(rows, df_row("Local Volumes", nv, vactive, vsize, vreclaim));
        json_object_array_add(rows, df_row("Build Cache", 0, 0, 0, 0));
        vs_ctr_list_free(v, n);
        vs_image_summaries_free(imgs, ni);
        _cleanup_json_ json_object *header = json_object_new_object();
        json_object_object_add(header, "Type", json_object_new_string("TYPE"));
        json_object_object_add(header, "TotalCount", json_object_new_string("TOTAL"));
        json_object_object_add(header, "Active", json_object_new_string("ACTIVE"));
        json_object_object_add(header, "Size", json_object_new_string("SIZE"));
        json_object_object_add(header, "Reclaimable", json_object_new_string("RECLAIMABLE"));
        return vs_cmd_format_list(format, DF_TABLE, header, rows);
}
