/* vessel-init: the tiny init `run --init` puts at /sbin/docker-init as the
 * container's process 1 (Docker's docker-init, tini, does the same job):
 *
 *   /sbin/docker-init -- COMMAND [ARG...]
 *
 * It runs COMMAND as its child, forwards every signal it can catch to it,
 * reaps every zombie (orphans re-parented to process 1 included), and
 * exits with COMMAND's status (128 + N when a signal N killed it). Built
 * static by the Makefile and embedded into vessel (src/engine/init.c);
 * it runs inside the container, so it trusts nothing there and needs
 * nothing from it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int exit_status(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 1;
}

int main(int argc, char **argv)
{
        int first = 1;
        if (first < argc && strcmp(argv[first], "--") == 0)
                first++;
        if (first >= argc) {
                fprintf(stderr, "vessel-init: usage: %s -- COMMAND [ARG...]\n", argv[0]);
                return 125;
        }
        if (getpid() != 1)
                prctl(PR_SET_CHILD_SUBREAPER, 1); /* not process 1: still reap orphans */
        sigset_t all, old;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, &old);
        pid_t child = fork();
        if (child < 0) {
                fprintf(stderr, "vessel-init: fork: %s\n", strerror(errno));
                return 125;
        }
        if (child == 0) {
                sigprocmask(SIG_SETMASK, &old, NULL);
                /* Its own process group, the terminal's foreground one, so
                 * that a shell under -it gets job control as without init. */
                setpgid(0, 0);
                if (isatty(STDIN_FILENO)) {
                        signal(SIGTTOU, SIG_IGN);
                        tcsetpgrp(STDIN_FILENO, getpid());
                        signal(SIGTTOU, SIG_DFL);
                }
                execvp(argv[first], argv + first);
                int e = errno;
                fprintf(stderr, "vessel-init: exec %s: %s\n", argv[first], strerror(e));
                _exit(e == ENOENT ? 127 : 126);
        }
        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);
                if (sig < 0)
                        continue;
                if (sig != SIGCHLD) {
                        kill(child, sig); /* as tini without -g */
                        continue;
                }
                for (;;) {
                        int status;
                        pid_t p = waitpid(-1, &status, WNOHANG);
                        if (p <= 0)
                                break;
                        if (p == child)
                                return exit_status(status);
                }
        }
}
