/* Docker's exit codes for a command that could not be run, by errno. */
#ifndef VESSEL_UTIL_EXITCODE_H
#define VESSEL_UTIL_EXITCODE_H

#include <errno.h>

/* 127: not found (ENOENT, ENOTDIR: a missing file or $PATH search);
 * 126: found but cannot be invoked (a directory, no permission, not an
 * executable format); 125: anything else, the engine's own failure. */
static inline int vs_exec_failure_code(int errno_)
{
        switch (errno_) {
        case ENOENT:
        case ENOTDIR:
                return 127;
        case EACCES:
        case EISDIR:
        case ENOEXEC:
                return 126;
        default:
                return 125;
        }
}

#endif
