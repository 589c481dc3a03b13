/* vessel bench: the facts of the machine a run measured (report.h). */
#include "bench/report.h"
#include "runtime/cgroup.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "version.h"
#include "vm/vm.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* The value of the first "key : value" line of a /proc file, or NULL. */
static char *proc_field(const char *path, const char *key)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char line[1024];
        size_t klen = strlen(key);
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, key, klen) != 0)
                        continue;
                char *p = line + klen;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p != ':')
                        continue;
                p++;
                while (*p == ' ' || *p == '\t')
                        p++;
                p[strcspn(p, "\n")] = '\0';
                return xstrdup(p);
        }
        return NULL;
}

bool vs_bench_io_weight(void)
{
        _cleanup_closedir_ DIR *d = opendir("/sys/block");
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *path = xasprintf("/sys/block/%s/queue/scheduler", de->d_name);
                _cleanup_free_ char *text = NULL;
                if (vs_read_file(path, &text, NULL, NULL) == 0 && strstr(text, "[bfq]"))
                        return true;
        }
        return strcmp(vs_cgroup_mode(), "v2") == 0 &&
               access("/sys/fs/cgroup/io.cost.qos", F_OK) == 0;
}

json_object *vs_bench_machine(void)
{
        json_object *m = json_object_new_object();
        struct utsname u;
        if (uname(&u) < 0)
                memset(&u, 0, sizeof(u));
        _cleanup_free_ char *model = proc_field("/proc/cpuinfo", "model name");
        if (!model) /* arm64 names no model there */
                model = proc_field("/proc/cpuinfo", "CPU implementer");
        json_object_object_add(m, "cpu_model", json_object_new_string(model ? model : u.machine));
        json_object_object_add(m, "arch", json_object_new_string(u.machine));
        json_object_object_add(m, "cores", json_object_new_int(sysconf(_SC_NPROCESSORS_ONLN)));
        _cleanup_free_ char *mem = proc_field("/proc/meminfo", "MemTotal");
        json_object_object_add(m, "memory_MiB",
                               json_object_new_int64(mem ? strtoll(mem, NULL, 10) / 1024 : 0));
        json_object_object_add(m, "kernel", json_object_new_string(u.release));
        json_object_object_add(m, "cgroup_mode", json_object_new_string(vs_cgroup_mode()));
        json_object_object_add(m, "io_weight", json_object_new_boolean(vs_bench_io_weight()));
        const char *why = "";
        const char *accel = vs_vm_accel_detect(&why);
        json_object_object_add(m, "accelerator", json_object_new_string(accel));
        json_object_object_add(m, "accelerator_reason", json_object_new_string(why));
        json_object_object_add(m, "vessel_version", json_object_new_string(VESSEL_VERSION));
        char date[64];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_object_add(m, "date", json_object_new_string(date));
        return m;
}
