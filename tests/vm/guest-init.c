// SPDX-License-Identifier: GPL-2.0
/*
 * First stage of nlkit's guest init (PID 1 in virtme-ng test VMs), built static by
 * the runner into out/vm/guest-init. The Go runtime hangs at start-up when /proc and
 * /sys are not mounted, so this mounts them (and devtmpfs) and execs the Go init
 * (out/vm/guestinit, beside it), which does the rest in one process.
 *
 * It is C, not a shell script: on the KASAN kernel under TCG, a shell and three
 * mount(8) processes loaded over the guest's 9p root took 35 s of every boot.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4096];
	char *slash;

	(void)argc;
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
	mount("sys", "/sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
	snprintf(path, sizeof(path), "%s", argv[0]);
	slash = strrchr(path, '/');
	if (!slash) {
		fprintf(stderr, "guest-init: run me by my path\n");
		return 1;
	}
	snprintf(slash + 1, sizeof(path) - (slash + 1 - path), "guestinit");
	execv(path, argv);
	perror(path);
	return 1;
}
