// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm list: the guests of this user that are running, from their control
 * sockets (stale sockets of dead guests are removed on the way).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm/builtin.h"
#include "kvm/control.h"
#include "kvm/kvm.h"
#include "kvm/pause.h"

/* Served by `lkvm run`: "NAME PID STATE CPUS MEM_MIB". */
static int list__info(struct kvm *kvm, const struct ctl_msg *msg, FILE *out)
{
	const char *state = "running";

	(void)msg;
	if (kvm__stop_cause(kvm) != KVM_STOP_NONE)
		state = "stopping";
	else if (kvm__user_paused())
		state = "paused";
	else if (kvm__paused(kvm))
		state = "debug";	/* held by lkvm debug or gdb */
	fprintf(out, "%s %d %s %d %llu\n", ctl__guest_name(), (int)getpid(),
		state, kvm->nr_cpus,
		(unsigned long long)(kvm->ram_size / MiB));
	return 0;
}
ctl_handler(CTL_INFO, list__info);

int cmd_list(int argc, char **argv)
{
	char **names;
	int n;

	if (argc > 1) {
		if (strcmp(argv[1], "--help") && strcmp(argv[1], "-h"))
			die("list: unexpected argument '%s'", argv[1]);
		printf("usage: lkvm list\n"
		       "  the running guests of this user: name, pid, state "
		       "(running, paused,\n  debug, stopping), vCPUs, memory\n");
		return 0;
	}
	n = ctl__list(&names);
	printf("%-24s %8s %-9s %5s %9s\n", "NAME", "PID", "STATE", "CPUS",
	       "MEM(MiB)");
	for (int i = 0; i < n; i++) {
		char *text = NULL, name[CTL_NAME_MAX + 1], state[16];
		unsigned long long mem;
		int status, pid, cpus;

		/* A guest may exit between the listing and the question. */
		if (ctl__call(names[i], CTL_INFO, NULL, 0, &status, &text) ||
		    status || sscanf(text, "%64s %d %15s %d %llu", name, &pid,
				     state, &cpus, &mem) != 5) {
			free(text);
			free(names[i]);
			continue;
		}
		printf("%-24s %8d %-9s %5d %9llu\n", name, pid, state, cpus,
		       mem);
		free(text);
		free(names[i]);
	}
	free(names);
	return 0;
}
