// SPDX-License-Identifier: GPL-2.0
/*
 * The VM: /dev/kvm, capabilities, guest RAM, the in-kernel irqchip.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <linux/kvm.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/kvm.h"
#include "kvm/kvm-cpu.h"

/* Intel VMX needs three pages below 4 GiB for its real-mode TSS. */
#define KVM_TSS_ADDR	0xfffbd000UL

static int check_ext(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

/*
 * LKVM_CAPS_OFF=irqfd,ioeventfd,... makes lkvm act as if KVM lacked those
 * capabilities, so the fallback paths can be tested on a KVM that has
 * everything.  Only capabilities with a fallback are listed.
 */
static void kvm__mask_caps(struct kvm_caps *c)
{
	const struct { const char *name; bool *cap; } knobs[] = {
		{ "irqfd", &c->irqfd },
		{ "ioeventfd", &c->ioeventfd },
		{ "signal_msi", &c->signal_msi },
		{ "irq_routing", &c->irq_routing },
	};
	const char *env = getenv("LKVM_CAPS_OFF");
	char *list, *tok, *save;

	if (!env)
		return;
	list = xstrdup(env);
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i = 0;

		while (i < ARRAY_SIZE(knobs) && strcmp(tok, knobs[i].name))
			i++;
		if (i < ARRAY_SIZE(knobs))
			*knobs[i].cap = false;
		else
			die("LKVM_CAPS_OFF: unknown capability '%s' (irqfd, "
			    "ioeventfd, signal_msi, irq_routing)", tok);
	}
	free(list);
}

/*
 * Probe on @fd: /dev/kvm before the VM exists, then again on the VM fd
 * where KVM_CAP_CHECK_EXTENSION_VM says the answer may be VM-specific.
 */
static void kvm__probe_caps(struct kvm *kvm, int fd)
{
	struct kvm_caps *c = &kvm->caps;

	c->irqchip = check_ext(fd, KVM_CAP_IRQCHIP);
	c->pit2 = check_ext(fd, KVM_CAP_PIT2);
	c->irqfd = check_ext(fd, KVM_CAP_IRQFD);
	c->ioeventfd = check_ext(fd, KVM_CAP_IOEVENTFD);
	c->signal_msi = check_ext(fd, KVM_CAP_SIGNAL_MSI);
	c->irq_routing = check_ext(fd, KVM_CAP_IRQ_ROUTING);
	c->immediate_exit = check_ext(fd, KVM_CAP_IMMEDIATE_EXIT);
	c->set_tss_addr = check_ext(fd, KVM_CAP_SET_TSS_ADDR);
	c->ext_cpuid = check_ext(fd, KVM_CAP_EXT_CPUID);
	c->user_nmi = check_ext(fd, KVM_CAP_USER_NMI);
	c->adjust_clock = check_ext(fd, KVM_CAP_ADJUST_CLOCK);
	c->binary_stats = check_ext(fd, KVM_CAP_BINARY_STATS_FD);
	c->guest_debug = check_ext(fd, KVM_CAP_SET_GUEST_DEBUG);
	c->nr_vcpus = check_ext(fd, KVM_CAP_NR_VCPUS);
	c->max_vcpus = check_ext(fd, KVM_CAP_MAX_VCPUS);
	c->nr_memslots = check_ext(fd, KVM_CAP_NR_MEMSLOTS);
	/* The API says: no KVM_CAP_NR_VCPUS means 4, no MAX_VCPUS means NR. */
	if (!c->nr_vcpus)
		c->nr_vcpus = 4;
	if (!c->max_vcpus)
		c->max_vcpus = c->nr_vcpus;

	kvm__mask_caps(c);
	pr_debug("caps: irqchip=%d pit2=%d irqfd=%d ioeventfd=%d msi=%d "
		 "routing=%d immediate_exit=%d vcpus=%d/%d memslots=%d",
		 c->irqchip, c->pit2, c->irqfd, c->ioeventfd, c->signal_msi,
		 c->irq_routing, c->immediate_exit, c->nr_vcpus,
		 c->max_vcpus, c->nr_memslots);
}

/*
 * The vCPU loop relies on these; a KVM without them cannot boot Linux the
 * way lkvm does, so say which one is missing.
 */
static void kvm__require_caps(struct kvm *kvm)
{
	if (!kvm->caps.irqchip)
		die("this KVM has no in-kernel irqchip (KVM_CAP_IRQCHIP)");
	if (!kvm->caps.immediate_exit)
		die("this KVM lacks KVM_CAP_IMMEDIATE_EXIT");
	if (!kvm->caps.ext_cpuid)
		die("this KVM cannot report CPUID (KVM_CAP_EXT_CPUID)");
}

static void kvm__open(struct kvm *kvm)
{
	int version;

	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
			die("cannot open /dev/kvm: %s - load ukvm.ko or kvm-amd",
			    strerror(errno));
		die_errno("cannot open /dev/kvm");
	}
	version = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		die("/dev/kvm speaks API version %d, lkvm needs %d",
		    version, KVM_API_VERSION);
	kvm__probe_caps(kvm, kvm->sys_fd);
	kvm__require_caps(kvm);

	kvm->vcpu_mmap_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->vcpu_mmap_size < (int)sizeof(struct kvm_run))
		die_errno("KVM_GET_VCPU_MMAP_SIZE");
}

static void kvm__create_irqchip(struct kvm *kvm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (kvm->caps.set_tss_addr &&
	    ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		die_errno("KVM_SET_TSS_ADDR");
	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		die_errno("KVM_CREATE_IRQCHIP");
	if (!kvm->caps.pit2)
		die("this KVM has no in-kernel PIT (KVM_CAP_PIT2)");
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		die_errno("KVM_CREATE_PIT2");
}

struct kvm *kvm__new(struct kvm_config *cfg)
{
	struct kvm *kvm = xzalloc(sizeof(*kvm));

	kvm->cfg = cfg;
	kvm__open(kvm);

	if ((int)cfg->nr_cpus > kvm->caps.max_vcpus)
		die("%llu CPUs requested, this KVM allows at most %d",
		    (unsigned long long)cfg->nr_cpus, kvm->caps.max_vcpus);

	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0)
		die_errno("KVM_CREATE_VM");
	if (check_ext(kvm->sys_fd, KVM_CAP_CHECK_EXTENSION_VM)) {
		kvm__probe_caps(kvm, kvm->vm_fd);
		kvm__require_caps(kvm);
	}

	kvm__init_ram(kvm);
	kvm__create_irqchip(kvm);

	kvm->nr_cpus = cfg->nr_cpus;
	kvm->cpus = xzalloc(kvm->nr_cpus * sizeof(*kvm->cpus));
	return kvm;
}

static void kvm__set_slot(struct kvm *kvm, u32 slot, u64 gpa, u64 size,
			  void *host)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (unsigned long)host,
	};

	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die_errno("KVM_SET_USER_MEMORY_REGION (slot %u, %llu MiB)",
			  slot, (unsigned long long)(size / MiB));
}

void kvm__init_ram(struct kvm *kvm)
{
	kvm->ram_size = kvm->cfg->ram_mib * MiB;
	kvm->ram_low = MIN(kvm->ram_size, KVM_PCI_HOLE_START);

	kvm->ram = mmap(NULL, kvm->ram_size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (kvm->ram == MAP_FAILED)
		die_errno("cannot allocate %llu MiB of guest memory",
			  (unsigned long long)kvm->cfg->ram_mib);
	madvise(kvm->ram, kvm->ram_size, MADV_MERGEABLE);

	kvm__set_slot(kvm, 0, 0, kvm->ram_low, kvm->ram);
	if (kvm->ram_size > kvm->ram_low)
		kvm__set_slot(kvm, 1, KVM_4G, kvm->ram_size - kvm->ram_low,
			      kvm->ram + kvm->ram_low);
}

void *guest_ptr(struct kvm *kvm, u64 gpa, u64 len)
{
	u64 high_size = kvm->ram_size - kvm->ram_low;

	if (gpa + len < gpa)
		return NULL;
	if (gpa + len <= kvm->ram_low)
		return kvm->ram + gpa;
	if (gpa >= KVM_4G && gpa - KVM_4G + len <= high_size)
		return kvm->ram + kvm->ram_low + (gpa - KVM_4G);
	return NULL;
}

int kvm__ram_ranges(struct kvm *kvm, struct ram_range *out, int max)
{
	int n = 0;

	if (n < max)
		out[n++] = (struct ram_range){ 0, kvm->ram_low };
	if (kvm->ram_size > kvm->ram_low && n < max)
		out[n++] = (struct ram_range){ KVM_4G,
					       kvm->ram_size - kvm->ram_low };
	return n;
}

void kvm__irq_line(struct kvm *kvm, int gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		pr_warn("KVM_IRQ_LINE %d: %s", gsi, strerror(errno));
}

void kvm__signal_msi(struct kvm *kvm, u64 addr, u32 data)
{
	struct kvm_msi msi = {
		.address_lo = (u32)addr,
		.address_hi = addr >> 32,
		.data = data,
	};

	if (ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		pr_warn("KVM_SIGNAL_MSI: %s", strerror(errno));
}

void kvm__request_stop(struct kvm *kvm, enum kvm_exit_cause cause)
{
	int none = KVM_STOP_NONE;

	atomic_compare_exchange_strong(&kvm->stop_cause, &none, cause);
	for (int i = 0; i < kvm->nr_cpus; i++) {
		struct kvm_cpu *cpu = kvm->cpus[i];

		if (cpu && cpu->started && !pthread_equal(cpu->thread,
							  pthread_self()))
			pthread_kill(cpu->thread, SIGUSR1);
	}
}

/*
 * KVM_SET_GSI_ROUTING replaces the whole table, so lkvm keeps a copy:
 * first the routes KVM installs by itself with KVM_CREATE_IRQCHIP (GSI
 * 0-15 to both 8259s and the IOAPIC, 16-23 to the IOAPIC only; see
 * Documentation/virt/kvm/api.rst, KVM_CREATE_IRQCHIP), then MSI routes.
 */
#define IOAPIC_PINS		24
#define PIC_PINS		16
#define MAX_ROUTES		(PIC_PINS + IOAPIC_PINS + 256)

static struct {
	pthread_mutex_t lock;	/* protects everything here */
	int nr;
	int next_gsi;
	struct kvm_irq_routing_entry e[MAX_ROUTES];
} routes = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void routes__add_irqchip(u32 gsi, u32 chip, u32 pin)
{
	struct kvm_irq_routing_entry *e = &routes.e[routes.nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

static void routes__init_default(void)
{
	for (u32 gsi = 0; gsi < IOAPIC_PINS; gsi++) {
		if (gsi < PIC_PINS)
			routes__add_irqchip(gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
					    KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
		routes__add_irqchip(gsi, KVM_IRQCHIP_IOAPIC, gsi);
	}
	routes.next_gsi = IOAPIC_PINS;
}

static int routes__commit(struct kvm *kvm)
{
	size_t size = sizeof(struct kvm_irq_routing) +
		      routes.nr * sizeof(struct kvm_irq_routing_entry);
	struct kvm_irq_routing *r = xzalloc(size);
	int ret = 0;

	r->nr = routes.nr;
	memcpy(r->entries, routes.e, routes.nr * sizeof(routes.e[0]));
	if (ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
		ret = -errno;
	free(r);
	return ret;
}

int kvm__msi_route(struct kvm *kvm, int gsi, u64 addr, u32 data)
{
	struct kvm_irq_routing_entry *e = NULL;
	int ret;

	if (!kvm->caps.irq_routing)
		return -ENOSYS;
	pthread_mutex_lock(&routes.lock);
	if (!routes.nr)
		routes__init_default();
	for (int i = 0; gsi >= 0 && i < routes.nr; i++)
		if (routes.e[i].gsi == (u32)gsi &&
		    routes.e[i].type == KVM_IRQ_ROUTING_MSI)
			e = &routes.e[i];
	if (!e) {
		if (routes.nr == MAX_ROUTES) {
			pthread_mutex_unlock(&routes.lock);
			return -ENOSPC;
		}
		e = &routes.e[routes.nr++];
		memset(e, 0, sizeof(*e));
		e->gsi = gsi = routes.next_gsi++;
		e->type = KVM_IRQ_ROUTING_MSI;
	}
	e->u.msi.address_lo = (u32)addr;
	e->u.msi.address_hi = addr >> 32;
	e->u.msi.data = data;
	ret = routes__commit(kvm);
	pthread_mutex_unlock(&routes.lock);
	return ret < 0 ? ret : gsi;
}

int kvm__irqfd(struct kvm *kvm, int gsi, int fd)
{
	struct kvm_irqfd irqfd = { .fd = fd, .gsi = gsi };

	if (ioctl(kvm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	return 0;
}

int kvm__ioeventfd(struct kvm *kvm, u64 addr, u32 len, int fd, bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	if (ioctl(kvm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return -errno;
	return 0;
}
