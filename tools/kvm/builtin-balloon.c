// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm balloon NAME --inflate|--deflate|--set MiB: move what the guest's
 * virtio-balloon is asked to give back (the guest needs `lkvm run
 * --balloon`).
 */
#include <errno.h>
#include <string.h>

#include "kvm/balloon.h"
#include "kvm/builtin.h"
#include "kvm/control.h"
#include "kvm/kvm.h"

static int balloon__serve(struct kvm *kvm, const struct ctl_msg *msg,
			  FILE *out)
{
	const struct ctl_balloon *b = &msg->u.balloon;
	long mib = b->mib, target, actual;
	int r;

	if (b->op == CTL_BALLOON_DEFLATE)
		mib = -mib;
	r = balloon__request(kvm, mib, b->op != CTL_BALLOON_SET, &target,
			     &actual);
	if (r) {
		fprintf(out, "the guest has no balloon (lkvm run --balloon)");
		return -r;
	}
	fprintf(out, "%s: balloon request %ld MiB (the guest has given %ld "
		"MiB so far)\n", ctl__guest_name(), target, actual);
	return 0;
}
ctl_handler(CTL_BALLOON, balloon__serve);

static void balloon__usage(void)
{
	printf("usage: lkvm balloon NAME --inflate MiB|--deflate MiB|--set MiB\n"
	       "  --inflate MiB   ask the guest for MiB more memory\n"
	       "  --deflate MiB   give MiB back to the guest\n"
	       "  --set MiB       ask the guest for MiB in total\n"
	       "  (the request stays within guest RAM - 64 MiB)\n");
}

int cmd_balloon(int argc, char **argv)
{
	struct ctl_balloon b = { 0 };
	u64 mib;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		balloon__usage();
		return 0;
	}
	if (argc != 4)
		die("usage: lkvm balloon NAME --inflate|--deflate|--set MiB");
	if (!strcmp(argv[2], "--inflate"))
		b.op = CTL_BALLOON_INFLATE;
	else if (!strcmp(argv[2], "--deflate"))
		b.op = CTL_BALLOON_DEFLATE;
	else if (!strcmp(argv[2], "--set"))
		b.op = CTL_BALLOON_SET;
	else
		die("balloon: '%s' is not --inflate, --deflate or --set",
		    argv[2]);
	if (!parse_u64(argv[3], &mib) || mib > (1u << 20))
		die("balloon: '%s' is not a number of MiB (at most 1048576)",
		    argv[3]);
	b.mib = mib;
	return ctl__run_simple("balloon", argv[1], CTL_BALLOON, &b, sizeof(b));
}
