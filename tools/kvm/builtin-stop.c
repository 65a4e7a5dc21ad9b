// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm stop NAME|--all: power a running guest off from outside (lkvm
 * stops it as Ctrl-A x would; the guest OS gets no notice).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/builtin.h"
#include "kvm/control.h"
#include "kvm/kvm.h"

static int stop__serve(struct kvm *kvm, const struct ctl_msg *msg, FILE *out)
{
	(void)kvm;
	(void)msg;
	fprintf(out, "%s: stopping\n", ctl__guest_name());
	return 0;
}

/* After the reply: the guest may be gone a moment later. */
static void stop__now(struct kvm *kvm)
{
	kvm__request_stop(kvm, KVM_STOP_USER);
}
ctl_handler_then(CTL_STOP, stop__serve, stop__now);

static int stop__all(void)
{
	char **names;
	int n = ctl__list(&names), ret = 0;

	for (int i = 0; i < n; i++) {
		char *text = NULL;
		int status, r;

		r = ctl__call(names[i], CTL_STOP, NULL, 0, &status, &text);
		/* Gone in the meantime: that is what we wanted. */
		if (r && r != -ENOENT && r != -ECONNRESET) {
			fprintf(stderr, "lkvm: stop: guest '%s': %s\n",
				names[i], strerror(-r));
			ret = 1;
		} else if (!r) {
			fputs(text, stdout);
		}
		free(text);
		free(names[i]);
	}
	free(names);
	return ret;
}

int cmd_stop(int argc, char **argv)
{
	if (argc != 2)
		die("usage: lkvm stop NAME|--all");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: lkvm stop NAME|--all\n"
		       "  stop a running guest (or every guest of this user)\n");
		return 0;
	}
	if (!strcmp(argv[1], "--all"))
		return stop__all();
	return ctl__run_simple("stop", argv[1], CTL_STOP, NULL, 0);
}
