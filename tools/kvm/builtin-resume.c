// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm resume NAME: release the vCPUs `lkvm pause` parked; the guest
 * clock is set back to where it was paused (KVM_SET_CLOCK).
 */
#include <errno.h>
#include <string.h>

#include "kvm/builtin.h"
#include "kvm/control.h"
#include "kvm/kvm.h"
#include "kvm/pause.h"

static int resume__serve(struct kvm *kvm, const struct ctl_msg *msg,
			 FILE *out)
{
	(void)msg;
	if (kvm__user_resume(kvm)) {
		fprintf(out, "not paused");
		return EALREADY;
	}
	fprintf(out, "%s: resumed%s\n", ctl__guest_name(),
		kvm->caps.adjust_clock ? ", guest clock restored" : "");
	return 0;
}
ctl_handler(CTL_RESUME, resume__serve);

int cmd_resume(int argc, char **argv)
{
	if (argc != 2)
		die("usage: lkvm resume NAME");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: lkvm resume NAME\n"
		       "  let a guest paused with 'lkvm pause' run again\n");
		return 0;
	}
	return ctl__run_simple("resume", argv[1], CTL_RESUME, NULL, 0);
}
