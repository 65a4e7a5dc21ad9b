// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm run: create a guest, load a kernel and run it until it powers off.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/builtin.h"
#include "kvm/gdb.h"
#include "kvm/init.h"
#include "kvm/initramfs.h"
#include "kvm/kvm-cpu.h"
#include "kvm/kvm.h"
#include "kvm/x86.h"

#define DEFAULT_RAM_MIB		256
#define DEFAULT_NR_CPUS		1
#define MIN_RAM_MIB		16

enum {
	OPT_BOOT_MODE = 0x100,
	OPT_9P,
	OPT_BALLOON,
	OPT_RNG,
	OPT_CONSOLE,
	OPT_DEBUG,
	OPT_NAME,
	OPT_REBOOT,
	OPT_GDB,
};

static const struct option run_options[] = {
	{ "kernel",	required_argument, NULL, 'k' },
	{ "initrd",	required_argument, NULL, 'i' },
	{ "params",	required_argument, NULL, 'p' },
	{ "mem",	required_argument, NULL, 'm' },
	{ "cpus",	required_argument, NULL, 'c' },
	{ "disk",	required_argument, NULL, 'd' },
	{ "9p",		required_argument, NULL, OPT_9P },
	{ "network",	required_argument, NULL, 'n' },
	{ "rng",	no_argument,	   NULL, OPT_RNG },
	{ "balloon",	optional_argument, NULL, OPT_BALLOON },
	{ "name",	required_argument, NULL, OPT_NAME },
	{ "console",	required_argument, NULL, OPT_CONSOLE },
	{ "boot-mode",	required_argument, NULL, OPT_BOOT_MODE },
	{ "reboot",	no_argument,	   NULL, OPT_REBOOT },
	{ "gdb",	optional_argument, NULL, OPT_GDB },
	{ "debug",	no_argument,	   NULL, OPT_DEBUG },
	{ "help",	no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void run_usage(bool sandbox)
{
	if (sandbox)
		printf(
"usage: lkvm sandbox [run options] -- COMMAND [ARG]...\n"
"Runs COMMAND as root in a guest that sees the host's root file system\n"
"read-only with a throw-away writable overlay, in the current directory,\n"
"and exits with COMMAND's exit status.  Run options:\n");
	else
		printf(
"usage: lkvm run [options]\n");
	printf(
"  -k, --kernel FILE      kernel to boot: bzImage, or ELF vmlinux (PVH entry);\n"
"                         default: the newest /boot/vmlinuz-*\n"
"  -i, --initrd FILE      initial ramdisk; default (and with no root= in\n"
"                         -p): lkvm's own, which mounts the host's root\n"
"                         read-only over 9p with a tmpfs overlay and runs\n"
"                         a shell on the console\n"
"  -p, --params \"PARAMS\"  kernel command line\n"
"  -m, --mem MiB          guest memory (default %d)\n"
"  -c, --cpus N           number of vCPUs (default %d)\n"
"  -d, --disk IMAGE[,ro]  raw disk image as virtio-blk /dev/vdX (repeatable)\n"
"      --9p DIR[,TAG]     share host directory DIR over virtio-9p as mount tag\n"
"                         TAG (default hostshareN; repeatable)\n"
"  -n, --network tap=IF[,vhost=on|off]|user|none\n"
"                         virtio-net on host tap device IF, through vhost-net\n"
"                         when available (default none; repeatable)\n"
"      --rng              virtio-rng: the guest gets /dev/hwrng\n"
"      --balloon[=MiB]    virtio-balloon, asking the guest for MiB at start\n"
"      --name NAME        the guest's name (default guest-PID)\n"
"      --console serial|virtio\n"
"                         which console gets the terminal's input: ttyS0\n"
"                         (default) or virtio-console hvc0\n"
"      --boot-mode auto|64|real|pvh\n"
"                         bzImage entry: 64-bit (default) or 16-bit real-mode\n"
"                         setup; an ELF vmlinux always uses PVH\n"
"      --reboot           restart the guest when it reboots (default: exit)\n"
"      --gdb [PORT]       gdb remote stub on 127.0.0.1:PORT (default 1234)\n"
"      --debug            print what lkvm does on stderr\n"
"  -h, --help             this help\n"
"%s",
	       DEFAULT_RAM_MIB, DEFAULT_NR_CPUS, sandbox ?
"exit status: COMMAND's, or 1 when lkvm or the guest failed before it ended\n" :
"exit status: 0 guest powered off or rebooted, 1 error or guest crash\n");
}

static u64 parse_count(const char *opt, const char *arg, u64 min)
{
	u64 v;

	if (!parse_u64(arg, &v) || v < min)
		die("%s: '%s' is not a number of at least %llu", opt, arg,
		    (unsigned long long)min);
	return v;
}

static void parse_disk(struct kvm_config *cfg, char *arg)
{
	struct disk_config *d;
	char *comma = strchr(arg, ',');

	if (cfg->nr_disks == LKVM_MAX_DISKS)
		die("-d: at most %d disks", LKVM_MAX_DISKS);
	d = &cfg->disks[cfg->nr_disks++];
	if (comma) {
		*comma = '\0';
		if (strcmp(comma + 1, "ro"))
			die("-d: unknown disk option '%s' (only 'ro')", comma + 1);
		d->readonly = true;
	}
	if (!*arg)
		die("-d: no image file given");
	d->path = arg;
}

static void parse_9p(struct kvm_config *cfg, char *arg)
{
	struct share_config *s;
	char *comma = strrchr(arg, ',');

	if (cfg->nr_shares == LKVM_MAX_9P)
		die("--9p: at most %d shared directories", LKVM_MAX_9P);
	s = &cfg->shares[cfg->nr_shares];
	if (comma) {
		*comma = '\0';
		s->tag = comma + 1;
	} else {
		char *tag = xzalloc(16);

		snprintf(tag, 16, "hostshare%d", cfg->nr_shares);
		s->tag = cfg->nr_shares ? tag : "hostshare";
	}
	if (!*arg || !*s->tag)
		die("--9p: use --9p DIR[,TAG]");
	if (strlen(s->tag) > 64)
		die("--9p: tag '%s' is longer than 64 bytes", s->tag);
	s->path = arg;
	cfg->nr_shares++;
}

static void parse_network(struct kvm_config *cfg, char *arg)
{
	struct net_config *n;
	char *opt;

	if (!strcmp(arg, "none")) {
		cfg->nr_nets = 0;
		return;
	}
	if (cfg->nr_nets == LKVM_MAX_NICS)
		die("-n: at most %d network devices", LKVM_MAX_NICS);
	n = &cfg->nets[cfg->nr_nets];
	if (!strcmp(arg, "user")) {
		die("-n user: lkvm has no user-mode network stack; use "
		    "-n tap=IF (needs CAP_NET_ADMIN) or -n none");
	} else if (!strncmp(arg, "tap=", 4) && arg[4] && arg[4] != ',') {
		n->mode = NET_TAP;
		n->tap_if = arg + 4;
		opt = strchr(arg, ',');
		if (opt) {
			*opt++ = '\0';
			if (!strcmp(opt, "vhost=on"))
				n->vhost = VHOST_ON;
			else if (!strcmp(opt, "vhost=off"))
				n->vhost = VHOST_OFF;
			else
				die("-n: unknown tap option '%s' (vhost=on|off)", opt);
		}
		if (strlen(n->tap_if) >= 16)
			die("-n: tap interface name '%s' is too long", n->tap_if);
	} else {
		die("-n: '%s' is not tap=IF[,vhost=on|off], user or none", arg);
	}
	cfg->nr_nets++;
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

/*
 * lkvm sandbox stops at the first non-option (or "--"): the rest is the
 * command, whose own options are not lkvm's.
 */
static void parse_run_options(struct kvm_config *cfg, int argc, char **argv,
			      bool sandbox)
{
	const char *cmd = sandbox ? "sandbox" : "run";
	int c;

	cfg->ram_mib = DEFAULT_RAM_MIB;
	cfg->nr_cpus = DEFAULT_NR_CPUS;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, sandbox ? "+:k:i:p:m:c:d:n:h" :
				":k:i:p:m:c:d:n:h", run_options, NULL)) != -1) {
		switch (c) {
		case 'k': cfg->kernel = optarg; break;
		case 'i': cfg->initrd = optarg; break;
		case 'p': cfg->params = optarg; break;
		case 'm': cfg->ram_mib = parse_count("-m", optarg, MIN_RAM_MIB); break;
		case 'c': cfg->nr_cpus = parse_count("-c", optarg, 1); break;
		case 'd': parse_disk(cfg, optarg); break;
		case 'n': parse_network(cfg, optarg); break;
		case OPT_9P: parse_9p(cfg, optarg); break;
		case OPT_RNG: cfg->rng = true; break;
		case OPT_BALLOON:
			cfg->balloon = true;
			if (optarg)
				cfg->balloon_mib = parse_count("--balloon", optarg, 0);
			break;
		case OPT_NAME: cfg->name = optarg; break;
		case OPT_BOOT_MODE: cfg->boot_mode = parse_boot_mode(optarg); break;
		case OPT_REBOOT: cfg->reboot = true; break;
		case OPT_GDB: {
			/* --gdb, --gdb=PORT or --gdb PORT */
			u64 port = GDB_DEFAULT_PORT;
			const char *arg = optarg;

			if (!arg && optind < argc && parse_u64(argv[optind], &port))
				arg = argv[optind++];
			else if (arg && !parse_u64(arg, &port))
				port = 0;
			if (!port || port > 65535)
				die("--gdb: '%s' is not a TCP port", arg);
			cfg->gdb_port = port;
			break;
		}
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
			run_usage(sandbox);
			exit(0);
		case ':':
			die("option %s needs an argument", argv[optind - 1]);
		default:
			die("unknown option '%s' (try 'lkvm %s --help')",
			    argv[optind - 1], cmd);
		}
	}
	if (sandbox) {
		if (optind == argc)
			die("no command given: lkvm sandbox [run options] -- COMMAND");
		cfg->sandbox_argv = argv + optind;
	} else if (optind < argc) {
		die("unexpected argument '%s' (try 'lkvm run --help')",
		    argv[optind]);
	}
	if (cfg->balloon_mib >= cfg->ram_mib)
		die("--balloon=%llu: not less than the guest's %llu MiB",
		    (unsigned long long)cfg->balloon_mib,
		    (unsigned long long)cfg->ram_mib);
	if (cfg->ram_mib > (1ULL << 40) / MiB)
		die("-m: %llu MiB is more than lkvm supports",
		    (unsigned long long)cfg->ram_mib);
}

/*
 * Without -i (and without root= in -p, or always for the sandbox) the
 * guest gets lkvm's initramfs on the host's root, shared read-only.
 */
static void setup_host_root(struct kvm_config *cfg)
{
	static const char base[] = "console=ttyS0 panic=-1 quiet";
	const char *user = cfg->params ? cfg->params : "";
	const u8 *kernel;
	size_t size;
	/* Lives as long as the guest; a global, so no leak checker minds. */
	static char *params;

	if (cfg->nr_shares == LKVM_MAX_9P)
		die("--9p: at most %d shared directories with lkvm's "
		    "initramfs (it shares the host's root)", LKVM_MAX_9P - 1);
	cfg->shares[cfg->nr_shares++] = (struct share_config){ "/", HOST_ROOT_TAG };
	/* The sandbox's output is the command's: kernel messages stay quiet. */
	if (asprintf(&params, "%s%s %s", base,
		     cfg->sandbox_argv ? " loglevel=1" : "", user) < 0)
		die("out of memory");
	cfg->params = params;
	kernel = map_file(cfg->kernel, "kernel", &size);
	cfg->initrd_data = initramfs__build(cfg, kernel, size, &cfg->initrd_size);
	munmap((void *)kernel, size);
}

static bool wants_host_root(const struct kvm_config *cfg)
{
	if (cfg->initrd)
		return false;
	if (cfg->sandbox_argv || !cfg->params)
		return true;
	return !strstr(cfg->params, "root=");
}

static int exit_status(struct kvm *kvm)
{
	if (kvm->cfg->sandbox_argv) {
		int status = atomic_load(&kvm->guest_status);

		if (status >= 0)
			return status;
		if (kvm__stop_cause(kvm) != KVM_STOP_USER)
			pr_err("the guest stopped before the command ended");
		return 1;
	}
	switch (kvm__stop_cause(kvm)) {
	case KVM_STOP_POWEROFF:
	case KVM_STOP_REBOOT:
	case KVM_STOP_USER:
		return 0;
	default:
		return 1;
	}
}

int run__guest(int argc, char **argv, bool sandbox)
{
	struct kvm_config cfg = { 0 };
	struct kvm *kvm;
	int status;

	parse_run_options(&cfg, argc, argv, sandbox);
	if (!cfg.kernel)
		cfg.kernel = initramfs__host_kernel();
	if (wants_host_root(&cfg))
		setup_host_root(&cfg);

	kvm = kvm__new(&cfg);
	for (int i = 0; i < kvm->nr_cpus; i++)
		kvm->cpus[i] = kvm_cpu__new(kvm, i);
	x86__load_kernel(kvm);
	/* Copied into guest memory: lkvm's own initramfs is not needed now. */
	free((void *)cfg.initrd_data);
	cfg.initrd_data = NULL;
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

int cmd_run(int argc, char **argv)
{
	return run__guest(argc, argv, false);
}
