/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__INITRAMFS_H
#define KVM__INITRAMFS_H

#include "kvm/kvm.h"

/*
 * lkvm's own initramfs (initramfs.c), used when no -i is given: lkvm's
 * init (guest/init.c, linked in) mounts the host's root read-only over
 * virtio-9p with a tmpfs overlay and runs a shell, or the sandbox command.
 */

/* The 9p mount tag of the host's root. */
#define HOST_ROOT_TAG		"lkvm-root"

/*
 * The guest's init writes the sandbox command's exit status (one byte)
 * here before powering off; guest/init.c uses the same number.
 */
#define LKVM_STATUS_PORT	0x504

/* The newest /boot/vmlinuz-* (by version); dies if there is none. */
const char *initramfs__host_kernel(void);

/*
 * Build the initramfs for cfg (its kernel decides which modules go in);
 * returns a malloc'ed newc cpio archive.  Dies with one line on failure.
 */
u8 *initramfs__build(const struct kvm_config *cfg, const u8 *kernel,
		     size_t kernel_size, size_t *size);

/*
 * The same with the modules of release (NULL: none) taken from
 * modules_root/release (initramfs__build: /lib/modules).
 */
u8 *initramfs__build_for(const struct kvm_config *cfg,
			 const char *modules_root, const char *release,
			 size_t *size);

/* The kernel release ("6.1.0-56-amd64") of a bzImage or vmlinux, or NULL. */
char *initramfs__kernel_release(const u8 *kernel, size_t size);

#endif
