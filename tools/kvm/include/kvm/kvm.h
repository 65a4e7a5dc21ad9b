/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__KVM_H
#define KVM__KVM_H

#include <pthread.h>
#include <stdatomic.h>

#include "kvm/util.h"

#define LKVM_MAX_DISKS	8
#define LKVM_MAX_9P	8
#define LKVM_MAX_NICS	4

enum boot_mode {
	BOOT_MODE_AUTO,		/* bzImage: 64-bit entry; ELF: PVH */
	BOOT_MODE_64,
	BOOT_MODE_REAL,
	BOOT_MODE_PVH,
};

enum console_type {
	CONSOLE_SERIAL,
	CONSOLE_VIRTIO,
};

struct disk_config {
	const char *path;
	bool readonly;
};

enum net_mode {
	NET_NONE,
	NET_TAP,
};

enum vhost_mode {
	VHOST_AUTO,		/* vhost-net when /dev/vhost-net works */
	VHOST_OFF,
	VHOST_ON,		/* vhost-net or fail */
};

struct net_config {
	enum net_mode mode;
	const char *tap_if;
	enum vhost_mode vhost;
};

struct share_config {
	const char *path;
	const char *tag;
};

/* Everything the command line says; filled by builtin-run.c only. */
struct kvm_config {
	const char *name;
	const char *kernel;
	const char *initrd;
	/* lkvm's own initramfs (initramfs.c), when no -i is given */
	const u8 *initrd_data;
	size_t initrd_size;
	const char *params;
	u64 ram_mib;
	u64 nr_cpus;
	enum boot_mode boot_mode;
	enum console_type console;
	struct disk_config disks[LKVM_MAX_DISKS];
	int nr_disks;
	struct share_config shares[LKVM_MAX_9P];
	int nr_shares;
	struct net_config nets[LKVM_MAX_NICS];
	int nr_nets;
	bool rng;
	bool balloon;
	u64 balloon_mib;	/* initial inflation target */
	bool reboot;		/* keep running when the guest reboots */
	u16 gdb_port;		/* --gdb: stub on 127.0.0.1:port, 0 = none */
	/* lkvm sandbox: the command the guest runs (NULL-terminated) */
	char **sandbox_argv;
};

/* For messages: the -i file, or lkvm's own initramfs. */
static inline const char *initrd_name(const struct kvm_config *cfg)
{
	return cfg->initrd ? cfg->initrd : "(lkvm's initramfs)";
}

/*
 * What the KVM in use offers, asked once with KVM_CHECK_EXTENSION at
 * start-up.  Code branches on these, never on which backend this is.
 */
struct kvm_caps {
	bool irqchip;
	bool pit2;
	bool irqfd;
	bool ioeventfd;
	bool signal_msi;
	bool irq_routing;
	bool immediate_exit;
	bool set_tss_addr;
	bool ext_cpuid;
	bool user_nmi;
	bool adjust_clock;	/* KVM_GET/SET_CLOCK: pauses keep guest time */
	bool binary_stats;	/* KVM_GET_STATS_FD */
	int guest_debug;	/* KVM_CAP_SET_GUEST_DEBUG (gdb stub) */
	int nr_vcpus;		/* recommended maximum */
	int max_vcpus;		/* hard maximum */
	int nr_memslots;
};

/* Why the guest stopped; turned into lkvm's exit status. */
enum kvm_exit_cause {
	KVM_STOP_NONE,
	KVM_STOP_POWEROFF,
	KVM_STOP_REBOOT,
	KVM_STOP_USER,		/* Ctrl-A x or a signal */
	KVM_STOP_CRASH,		/* triple fault, internal error */
};

struct kvm_cpu;

struct kvm {
	int sys_fd;
	int vm_fd;
	int vcpu_mmap_size;
	struct kvm_caps caps;
	struct kvm_config *cfg;

	/*
	 * Guest RAM is one host mapping.  Guest physical [0, ram_low) maps
	 * to ram[0..], and [4 GiB, 4 GiB + ram_size - ram_low) continues it
	 * above the PCI hole.
	 */
	u8 *ram;
	u64 ram_size;
	u64 ram_low;

	int nr_cpus;
	struct kvm_cpu **cpus;

	/* How the BSP enters the kernel; set by the loader in x86/. */
	enum boot_mode boot_mode;	/* never BOOT_MODE_AUTO once loaded */
	u64 boot_entry;		/* 64-bit/PVH: rip; real mode: setup base */
	u64 boot_info;		/* boot_params or PVH start_info address */

	_Atomic int stop_cause;	/* enum kvm_exit_cause, first one wins */
	/* lkvm sandbox: the command's exit status from the guest, or -1 */
	_Atomic int guest_status;
};

/* Start of the 32-bit PCI hole: RAM below 4 GiB ends here at most. */
#define KVM_PCI_HOLE_START	0xc0000000ULL
#define KVM_4G			0x100000000ULL

struct kvm *kvm__new(struct kvm_config *cfg);
void kvm__init_ram(struct kvm *kvm);

/*
 * Host pointer for guest physical [gpa, gpa + len), or NULL when any part
 * of it is not guest RAM.  Every guest-supplied address goes through this.
 */
void *guest_ptr(struct kvm *kvm, u64 gpa, u64 len);

/* Guest physical ranges that are RAM, for e820 and the like. */
struct ram_range {
	u64 start;
	u64 size;
};
int kvm__ram_ranges(struct kvm *kvm, struct ram_range *out, int max);

/* Assert or deassert an interrupt line (GSI) of the in-kernel irqchip. */
void kvm__irq_line(struct kvm *kvm, int gsi, int level);
/* Deliver one MSI. */
void kvm__signal_msi(struct kvm *kvm, u64 addr, u32 data);
/*
 * Route a GSI to an MSI (KVM_SET_GSI_ROUTING, keeping KVM's default
 * irqchip routes): gsi < 0 allocates one.  Returns the GSI or -errno.
 */
int kvm__msi_route(struct kvm *kvm, int gsi, u64 addr, u32 data);
/* Signal GSI gsi whenever eventfd fd is written (KVM_IRQFD). */
int kvm__irqfd(struct kvm *kvm, int gsi, int fd);
/* Make guest writes of len bytes to MMIO addr write eventfd fd instead. */
int kvm__ioeventfd(struct kvm *kvm, u64 addr, u32 len, int fd, bool assign);

/* Ask every vCPU to stop; the first cause recorded is kept. */
void kvm__request_stop(struct kvm *kvm, enum kvm_exit_cause cause);
static inline enum kvm_exit_cause kvm__stop_cause(struct kvm *kvm)
{
	return atomic_load(&kvm->stop_cause);
}

#endif
