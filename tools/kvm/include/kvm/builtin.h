/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__BUILTIN_H
#define KVM__BUILTIN_H

#include <stdbool.h>

/* One lkvm command; each lives in its own builtin-NAME.c. */
struct lkvm_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

extern const struct lkvm_command lkvm_commands[];

int cmd_run(int argc, char **argv);
int cmd_sandbox(int argc, char **argv);
/* lkvm run, or lkvm sandbox: parse the options, run the guest, exit status. */
int run__guest(int argc, char **argv, bool sandbox);
int cmd_list(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_balloon(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_debug(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);

#endif
