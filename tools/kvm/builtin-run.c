// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm run: create a guest, load a kernel and run it until it powers off.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm/builtin.h"
#include "kvm/init.h"
#include "kvm/kvm-cpu.h"
#include "kvm/kvm.h"
#include "kvm/x86.h"

#define DEFAULT_RAM_MIB		256
#define DEFAULT_NR_CPUS		1
#define MIN_RAM_MIB		16

enum {
	OPT_BOOT_MODE = 0x100,
	OPT_CONSOLE,
	OPT_DEBUG,
	OPT_NAME,
	OPT_REBOOT,
};

static const struct option run_options[] = {
	{ "kernel",	required_argument, NULL, 'k' },
	{ "initrd",	required_argument, NULL, 'i' },
	{ "params",	required_argument, NULL, 'p' },
	{ "mem",	required_argument, NULL, 'm' },
	{ "cpus",	required_argument, NULL, 'c' },
	{ "name",	required_argument, NULL, OPT_NAME },
	{ "console",	required_argument, NULL, OPT_CONSOLE },
	{ "boot-mode",	required_argument, NULL, OPT_BOOT_MODE },
	{ "reboot",	no_argument,	   NULL, OPT_REBOOT },
	{ "debug",	no_argument,	   NULL, OPT_DEBUG },
	{ "help",	no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void run_usage(void)
{
	printf(
"usage: lkvm run [options]\n"
"  -k, --kernel FILE      kernel to boot: bzImage, or ELF vmlinux (PVH entry)\n"
"  -i, --initrd FILE      initial ramdisk\n"
"  -p, --params \"PARAMS\"  kernel command line\n"
"  -m, --mem MiB          guest memory (default %d)\n"
"  -c, --cpus N           number of vCPUs (default %d)\n"
"      --name NAME        the guest's name (default guest-PID)\n"
"      --console serial|virtio\n"
"                         where the console is (default serial: ttyS0)\n"
"      --boot-mode auto|64|real|pvh\n"
"                         bzImage entry: 64-bit (default) or 16-bit real-mode\n"
"                         setup; an ELF vmlinux always uses PVH\n"
"      --reboot           restart the guest when it reboots (default: exit)\n"
"      --debug            print what lkvm does on stderr\n"
"  -h, --help             this help\n"
"exit status: 0 guest powered off or rebooted, 1 error or guest crash\n",
	       DEFAULT_RAM_MIB, DEFAULT_NR_CPUS);
}

static u64 parse_count(const char *opt, const char *arg, u64 min)
{
	u64 v;

	if (!parse_u64(arg, &v) || v < min)
		die("%s: '%s' is not a number of at least %llu", opt, arg,
		    (unsigned long long)min);
	return v;
}

static enum boot_mode parse_boot_mode(const char *arg)
{
	if (!strcmp(arg, "auto"))
		return BOOT_MODE_AUTO;
	if (!strcmp(arg, "64"))
		return BOOT_MODE_64;
	if (!strcmp(arg, "real"))
		return BOOT_MODE_REAL;
	if (!strcmp(arg, "pvh"))
		return BOOT_MODE_PVH;
	die("--boot-mode: '%s' is not auto, 64, real or pvh", arg);
}

static void parse_run_options(struct kvm_config *cfg, int argc, char **argv)
{
	int c;

	cfg->ram_mib = DEFAULT_RAM_MIB;
	cfg->nr_cpus = DEFAULT_NR_CPUS;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":k:i:p:m:c:h", run_options,
				NULL)) != -1) {
		switch (c) {
		case 'k': cfg->kernel = optarg; break;
		case 'i': cfg->initrd = optarg; break;
		case 'p': cfg->params = optarg; break;
		case 'm': cfg->ram_mib = parse_count("-m", optarg, MIN_RAM_MIB); break;
		case 'c': cfg->nr_cpus = parse_count("-c", optarg, 1); break;
		case OPT_NAME: cfg->name = optarg; break;
		case OPT_BOOT_MODE: cfg->boot_mode = parse_boot_mode(optarg); break;
		case OPT_REBOOT: cfg->reboot = true; break;
		case OPT_DEBUG: lkvm_debug = true; break;
		case OPT_CONSOLE:
			if (!strcmp(optarg, "serial"))
				cfg->console = CONSOLE_SERIAL;
			else if (!strcmp(optarg, "virtio"))
				cfg->console = CONSOLE_VIRTIO;
			else
				die("--console: '%s' is not serial or virtio", optarg);
			break;
		case 'h':
			run_usage();
			exit(0);
		case ':':
			die("option %s needs an argument", argv[optind - 1]);
		default:
			die("unknown option '%s' (try 'lkvm run --help')",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (try 'lkvm run --help')",
		    argv[optind]);
	if (!cfg->kernel)
		die("no kernel given: use -k bzImage");
	if (cfg->ram_mib > (1ULL << 40) / MiB)
		die("-m: %llu MiB is more than lkvm supports",
		    (unsigned long long)cfg->ram_mib);
}

static int exit_status(struct kvm *kvm)
{
	switch (kvm__stop_cause(kvm)) {
	case KVM_STOP_POWEROFF:
	case KVM_STOP_REBOOT:
	case KVM_STOP_USER:
		return 0;
	default:
		return 1;
	}
}

int cmd_run(int argc, char **argv)
{
	struct kvm_config cfg = { 0 };
	struct kvm *kvm;
	int status;

	parse_run_options(&cfg, argc, argv);

	kvm = kvm__new(&cfg);
	for (int i = 0; i < kvm->nr_cpus; i++)
		kvm->cpus[i] = kvm_cpu__new(kvm, i);
	x86__load_kernel(kvm);
	if (init__run_all(kvm) < 0)
		die("cannot set up the machine");
	kvm_cpu__setup_boot_regs(kvm->cpus[0]);

	kvm_cpu__start_all(kvm);
	kvm_cpu__join_all(kvm);
	init__exit_all(kvm);

	status = exit_status(kvm);
	if (kvm__stop_cause(kvm) == KVM_STOP_REBOOT && cfg.reboot) {
		/* A fresh process is the simplest full machine reset. */
		fflush(NULL);
		execv("/proc/self/exe", argv - 1);
		die_errno("cannot restart lkvm for the guest's reboot");
	}
	return status;
}
