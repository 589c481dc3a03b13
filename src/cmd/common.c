/* Shared pieces of the command front ends. */
#include "cmd/cmd.h"
#include "util/log.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vs_globals vs_globals = {.root = VESSEL_DEFAULT_ROOT, .mode = VS_MODE_RUNTIME};

int vs_usage_status(void)
{
        return vs_globals.mode == VS_MODE_ENGINE ? 125 : 2;
}

int vs_report_error(vs_error **err)
{
        if (err && *err) {
                fprintf(stderr, "vessel: %s\n", (*err)->msg);
                if (vs_log_has_file())
                        vs_log(VS_LOG_ERROR, "%s", (*err)->msg);
                vs_error_free(err);
        }
        return 1;
}

int vs_usage_error(const char *cmd, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *msg = xvasprintf(fmt, ap);
        va_end(ap);
        if (cmd)
                fprintf(stderr, "vessel %s: %s\nTry 'vessel %s --help'.\n", cmd, msg, cmd);
        else
                fprintf(stderr, "vessel: %s\nTry 'vessel --help'.\n", msg);
        if (vs_log_has_file())
                vs_log(VS_LOG_ERROR, "%s: %s", cmd ? cmd : "vessel", msg);
        free(msg);
        return vs_usage_status();
}

bool vs_cmd_confirm(const char *warning)
{
        printf("WARNING! %s\nAre you sure you want to continue? [y/N] ", warning);
        fflush(stdout);
        char line[16] = "";
        return fgets(line, sizeof(line), stdin) && (line[0] == 'y' || line[0] == 'Y');
}

int vs_filter_error(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        va_end(ap);
        vs_error *err = NULL;
        vs_fail(&err, "--filter: %s", msg);
        return vs_report_error(&err);
}
