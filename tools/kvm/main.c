// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm: run Linux guests on /dev/kvm.  `lkvm COMMAND [options]`.
 */
#include <stdio.h>
#include <string.h>

#include "kvm/builtin.h"
#include "kvm/util.h"

const struct lkvm_command lkvm_commands[] = {
	{ "run", cmd_run, "boot a kernel in a new guest" },
	{ "sandbox", cmd_sandbox, "run a command in a guest on the host's root" },
	{ "list", cmd_list, "list the running guests of this user" },
	{ "stop", cmd_stop, "stop a running guest, or all of them" },
	{ "pause", cmd_pause, "park every vCPU of a running guest" },
	{ "resume", cmd_resume, "let a paused guest run again" },
	{ "balloon", cmd_balloon, "inflate or deflate a guest's balloon" },
	{ "stat", cmd_stat, "exit counts and device counters of a guest" },
	{ "debug", cmd_debug, "dump a guest's vCPUs, inject an NMI or SysRq" },
	{ "help", cmd_help, "list the commands, or show one's options" },
	{ "version", cmd_version, "print lkvm's version" },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "help";

	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		name = "help";
	if (!strcmp(name, "--version"))
		name = "version";
	for (const struct lkvm_command *c = lkvm_commands; c->name; c++) {
		if (!strcmp(c->name, name))
			return c->fn(argc > 1 ? argc - 1 : 1,
				     argc > 1 ? argv + 1 : argv);
	}
	die("unknown command '%s' (try 'lkvm help')", name);
}
