/* Shared pieces of the command front ends. */
#include "cmd/cmd.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vs_globals vs_globals = {.root = VESSEL_DEFAULT_ROOT};

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
        fprintf(stderr, "vessel %s: %s\nTry 'vessel %s --help'.\n", cmd, msg, cmd);
        if (vs_log_has_file())
                vs_log(VS_LOG_ERROR, "%s: %s", cmd, msg);
        free(msg);
        return 2;
}

/* Usage error for the option getopt_long just rejected, named as typed. */
int vs_option_error(const char *cmd, char **argv, bool missing_argument)
{
        const char *last = argv[optind - 1];
        bool is_long = strncmp(last, "--", 2) == 0;
        if (missing_argument)
                return is_long || optopt <= 0 || optopt >= 128
                           ? vs_usage_error(cmd, "option '%s' requires an argument", last)
                           : vs_usage_error(cmd, "option '-%c' requires an argument", optopt);
        /* glibc sets optopt for a known long option that was given a value. */
        if (is_long && optopt != 0)
                return vs_usage_error(cmd, "option '%s' takes no argument", last);
        if (!is_long && optopt > 0 && optopt < 128)
                return vs_usage_error(cmd, "unrecognized option '-%c'", optopt);
        return vs_usage_error(cmd, "unrecognized option '%s'", last);
}

