/* The floor of bench/vm-boot.sh: an /init that ends the VM at once (a
 * reboot, which QEMU's -no-reboot turns into its exit). */
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
        reboot(RB_AUTOBOOT);
        for (;;)
                pause();
}
