/* The floor of bench/vm-boot.sh and bench/vm-mem.sh: an /init that ends the
 * VM at once (a reboot, which QEMU's -no-reboot turns into its exit), or,
 * with "floor-idle" on the kernel command line (the kernel passes it on as an
 * argument), sleeps forever: an idle guest with nothing of vessel's. */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "floor-idle") != 0)
                        continue;
                /* The page reporting order vessel's agent sets (guest/agent.c). */
                mount("sysfs", "/sys", "sysfs", 0, NULL);
                int fd =
                    open("/sys/module/page_reporting/parameters/page_reporting_order", O_WRONLY);
                if (fd >= 0 && write(fd, "5", 1) == 1)
                        close(fd);
                for (;;)
                        pause();
        }
        reboot(RB_AUTOBOOT);
        for (;;)
                pause();
}
