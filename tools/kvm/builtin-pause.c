// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm pause NAME: park every vCPU outside KVM_RUN until `lkvm resume`.
 * Guest time is kept with KVM_GET/SET_CLOCK where KVM offers
 * KVM_CAP_ADJUST_CLOCK (see kvm/pause.h).
 */
#include <errno.h>
#include <string.h>

#include "kvm/builtin.h"
#include "kvm/control.h"
#include "kvm/kvm.h"
#include "kvm/pause.h"

static int pause__serve(struct kvm *kvm, const struct ctl_msg *msg, FILE *out)
{
	int r;

	(void)msg;
	r = kvm__user_pause(kvm);
	if (r == -EALREADY) {
		fprintf(out, "already paused");
		return EALREADY;
	}
	if (r) {
		fprintf(out, "the guest is stopping");
		return -r;
	}
	fprintf(out, "%s: paused, %d vCPU%s parked; %s\n", ctl__guest_name(),
		kvm->nr_cpus, kvm->nr_cpus > 1 ? "s" : "",
		kvm->caps.adjust_clock ? "guest clock saved (KVM_GET_CLOCK)" :
		"KVM lacks KVM_CAP_ADJUST_CLOCK: guest time will jump");
	return 0;
}
ctl_handler(CTL_PAUSE, pause__serve);

int cmd_pause(int argc, char **argv)
{
	if (argc != 2)
		die("usage: lkvm pause NAME");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: lkvm pause NAME\n"
		       "  park every vCPU of the guest until 'lkvm resume "
		       "NAME'\n");
		return 0;
	}
	return ctl__run_simple("pause", argv[1], CTL_PAUSE, NULL, 0);
}
