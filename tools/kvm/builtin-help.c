// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

#include "kvm/builtin.h"
#include "kvm/util.h"

#define LKVM_VERSION	"0.1"

int cmd_help(int argc, char **argv)
{
	if (argc > 1) {
		for (const struct lkvm_command *c = lkvm_commands; c->name; c++) {
			char *args[] = { argv[1], "--help", NULL };

			if (!strcmp(c->name, argv[1]) && c->fn != cmd_help)
				return c->fn(2, args);
		}
		die("unknown command '%s' (try 'lkvm help')", argv[1]);
	}
	printf("usage: lkvm COMMAND [options]\n\ncommands:\n");
	for (const struct lkvm_command *c = lkvm_commands; c->name; c++)
		printf("  %-10s %s\n", c->name, c->summary);
	printf("\n'lkvm COMMAND --help' lists a command's options.\n");
	return 0;
}

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("lkvm version %s\n", LKVM_VERSION);
	return 0;
}
