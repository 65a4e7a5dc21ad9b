// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm sandbox [run options] -- COMMAND...: run COMMAND in a guest booted
 * with lkvm's initramfs on the host's root (read-only, with a tmpfs
 * overlay) and exit with its status.  The guest's init reports the status
 * on LKVM_STATUS_PORT (hw/status-port.c) before powering off.
 */
#include "kvm/builtin.h"

int cmd_sandbox(int argc, char **argv)
{
	return run__guest(argc, argv, true);
}
