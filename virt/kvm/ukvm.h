/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The architecture-neutral core of ukvm: VMs, vCPUs and memslots, and the
 * hooks an architecture implements (kvm_arch_*).  Nothing here knows x86.
 */
#ifndef UKVM_H
#define UKVM_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/refcount.h>
#include <linux/signal.h>
#include <linux/fs.h>

/*
 * Our own ABI header, included by path so that it can never be confused with
 * the kernel's <linux/kvm.h> (which Kbuild's include path would find first).
 */
#include "../../include/uapi/linux/kvm.h"

typedef u64 gpa_t;
typedef u64 gfn_t;

/* Per-architecture state embedded in struct kvm and struct kvm_vcpu. */
#include "kvm_arch.h"
/* In-kernel device buses and eventfds. */
#include "iobus.h"
#include "coalesced_mmio.h"
/* Binary statistics (KVM_GET_STATS_FD). */
#include "stats.h"
/* Dirty page bitmaps and rings. */
#include "dirty.h"

#define KVM_MAX_VCPUS		KVM_ARCH_MAX_VCPUS
#define KVM_MAX_VCPU_IDS	KVM_ARCH_MAX_VCPU_IDS
#define KVM_USER_MEM_SLOTS	509
/*
 * Memslot address spaces (KVM_CAP_MULTI_ADDRESS_SPACE): a slot number
 * carries its address space in bits 16 and up.  Which one a vCPU sees is
 * the architecture's (x86: 1 while in System Management Mode).
 */
#define KVM_ADDRESS_SPACE_NUM	KVM_ARCH_ADDRESS_SPACE_NUM
/* A slot's page count must fit the dirty bitmap's int-sized indexing. */
#define KVM_MEM_MAX_NR_PAGES	((1UL << 31) - 1)

/*
 * vCPU mmap: page 0 is struct kvm_run, page KVM_PIO_PAGE_OFFSET PIO data,
 * page KVM_COALESCED_MMIO_PAGE_OFFSET the VM's coalesced MMIO ring.
 */
#define KVM_VCPU_MMAP_PAGES	(KVM_COALESCED_MMIO_PAGE_OFFSET + 1)

struct kvm_memory_slot {
	u16 id;
	u16 as_id;		/* its address space */
	u32 flags;
	gfn_t base_gfn;
	unsigned long npages;
	unsigned long userspace_addr;
	/*
	 * With KVM_MEM_LOG_DIRTY_PAGES and no dirty ring: one bit per page,
	 * followed by as many bits of scratch space for KVM_GET_DIRTY_LOG
	 * and KVM_CLEAR_DIRTY_LOG (dirty_log.c); NULL otherwise.
	 */
	unsigned long *dirty_bitmap;
};

/*
 * Memslots.  @by_id indexes every slot by its id; @active lists the used
 * slots densely for lookups by gfn.  Both are protected by kvm->slots_lock:
 * held for write while slots change, for read while a vCPU resolves a gfn.
 */
struct kvm_memslots {
	struct kvm_memory_slot *by_id[KVM_USER_MEM_SLOTS];
	struct kvm_memory_slot *active[KVM_USER_MEM_SLOTS];
	int nr_active;
};

struct kvm {
	struct mm_struct *mm;		/* creator's mm; other mms get -EIO */
	refcount_t users;		/* the VM fd plus one per vCPU fd */
	struct mutex lock;		/* protects vcpus[], created_vcpus */
	struct rw_semaphore slots_lock;	/* protects slots, see above */
	struct kvm_memslots slots[KVM_ADDRESS_SPACE_NUM];
	int created_vcpus;
	atomic_t online_vcpus;		/* vcpus[0..online_vcpus) are valid */
	struct kvm_vcpu *vcpus[KVM_MAX_VCPUS];
	struct kvm_io_state io;		/* iobus.c, eventfd.c */
	struct kvm_coalesced_mmio_state coalesced;	/* coalesced_mmio.c */
	struct kvm_vm_stat stat;	/* stats.c */
	/* Dirty logging (dirty_log.c, dirty_ring.c). */
	u64 manual_dirty_log_protect;	/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 */
	u32 dirty_ring_size;		/* ring bytes per vCPU; 0: bitmaps */
	/* serializes GET/CLEAR_DIRTY_LOG and KVM_RESET_DIRTY_RINGS */
	struct mutex dirty_log_lock;
	struct kvm_arch arch;
};

enum kvm_vcpu_mode {
	OUTSIDE_GUEST_MODE,
	IN_GUEST_MODE,
};

struct kvm_vcpu {
	struct kvm *kvm;
	int vcpu_id;			/* the id userspace chose */
	int vcpu_idx;			/* index in kvm->vcpus[] */
	struct mutex mutex;		/* serializes this vCPU's ioctls */
	struct kvm_run *run;		/* page 0 of the vCPU mmap */
	void *pio_data;			/* page KVM_PIO_PAGE_OFFSET */
	int cpu;			/* physical CPU of the last entry, or -1 */
	int mode;			/* enum kvm_vcpu_mode, read remotely */
	unsigned long requests;		/* KVM_REQ_* bits, set from anywhere */
	bool sigset_active;
	sigset_t sigset;		/* KVM_SET_SIGNAL_MASK, applied in KVM_RUN */
	struct kvm_vcpu_stat stat;	/* stats.c; written by this vCPU only */
	/* the task inside one of this vCPU's ioctls (under @mutex), or NULL */
	struct task_struct *ioctl_task;
	struct kvm_dirty_ring dirty_ring;	/* KVM_CAP_DIRTY_LOG_RING */
	struct kvm_vcpu_arch arch;
};

#define kvm_for_each_vcpu(idx, vcpup, kvm)				\
	for (idx = 0; idx < atomic_read(&(kvm)->online_vcpus) &&	\
		      ((vcpup) = READ_ONCE((kvm)->vcpus[idx])); idx++)

/* vCPU requests: set with kvm_make_request(), consumed before guest entry. */
static inline void kvm_make_request(int req, struct kvm_vcpu *vcpu)
{
	/* Whatever the request is about is visible before the request. */
	smp_wmb();
	set_bit(req, &vcpu->requests);
}

static inline bool kvm_check_request(int req, struct kvm_vcpu *vcpu)
{
	if (!test_bit(req, &vcpu->requests))
		return false;
	clear_bit(req, &vcpu->requests);
	/* Pairs with kvm_make_request(): see the request's payload. */
	smp_mb__after_atomic();
	return true;
}

void kvm_make_all_cpus_request(struct kvm *kvm, int req);

/* Memslots (memslot.c). */
int kvm_set_memory_region(struct kvm *kvm,
			  const struct kvm_userspace_memory_region *mem);
struct kvm_memory_slot *__kvm_gfn_to_memslot(struct kvm *kvm, int as_id,
					      gfn_t gfn);
/* Address space 0, what the VM sees outside SMM. */
struct kvm_memory_slot *kvm_gfn_to_memslot(struct kvm *kvm, gfn_t gfn);
void kvm_free_memslots(struct kvm *kvm);
int kvm_read_guest(struct kvm *kvm, gpa_t gpa, void *data, unsigned long len);
int kvm_write_guest(struct kvm *kvm, gpa_t gpa, const void *data,
		    unsigned long len);
/*
 * The same through the address space @vcpu is in now (kvm_arch_vcpu_as_id);
 * the caller holds slots_lock for read.
 */
struct kvm_memory_slot *kvm_vcpu_gfn_to_memslot(struct kvm_vcpu *vcpu,
						gfn_t gfn);
int kvm_vcpu_read_guest(struct kvm_vcpu *vcpu, gpa_t gpa, void *data,
			unsigned long len);
int kvm_vcpu_write_guest(struct kvm_vcpu *vcpu, gpa_t gpa, const void *data,
			 unsigned long len);

/*
 * Dirty logging (dirty_log.c).  kvm_mark_page_dirty() logs a write the
 * kernel made to guest memory on the guest's behalf (emulated instructions,
 * kvmclock, steal time, PV EOI...).  Call it after the write has landed,
 * with kvm->slots_lock held (read is enough); it is cheap when @gfn's slot
 * does not log.  kvm_write_guest() already calls it for what it writes.
 */
void kvm_mark_page_dirty(struct kvm *kvm, gfn_t gfn);
void kvm_vcpu_mark_page_dirty(struct kvm_vcpu *vcpu, gfn_t gfn);

static inline unsigned long gfn_to_hva_memslot(const struct kvm_memory_slot *s,
					       gfn_t gfn)
{
	return s->userspace_addr + ((gfn - s->base_gfn) << PAGE_SHIFT);
}

/* vCPUs (vcpu.c). */
int kvm_vm_ioctl_create_vcpu(struct kvm *kvm, u32 id);
void kvm_destroy_vcpus(struct kvm *kvm);

/* VM lifetime (kvm_main.c). */
void kvm_get_kvm(struct kvm *kvm);
void kvm_put_kvm(struct kvm *kvm);
long kvm_vm_check_extension(struct kvm *kvm, long ext);
/* hide_caps= (hidden_caps.c): capabilities answered as absent. */
bool kvm_cap_hidden(long cap);
bool kvm_ioctl_hidden(unsigned int ioctl, unsigned long arg);
int kvm_address_spaces(void);

/*
 * Architecture hooks.  Ioctl hooks return -ENOTTY for ioctls they do not
 * know; kvm_arch_check_extension returns 0 for capabilities it lacks.
 */
int kvm_arch_init(void);
void kvm_arch_exit(void);
long kvm_arch_dev_ioctl(unsigned int ioctl, unsigned long arg);
long kvm_arch_check_extension(struct kvm *kvm, long ext);
int kvm_arch_init_vm(struct kvm *kvm, unsigned long type);
/* Before the vCPUs are destroyed: stop whatever injects into them. */
void kvm_arch_pre_destroy_vm(struct kvm *kvm);
void kvm_arch_destroy_vm(struct kvm *kvm);
long kvm_arch_vm_ioctl(struct kvm *kvm, unsigned int ioctl, unsigned long arg);
/* Architecture limits on a new vCPU's id, checked before allocation. */
int kvm_arch_vcpu_precreate(struct kvm *kvm, u32 id);
int kvm_arch_vcpu_create(struct kvm_vcpu *vcpu);
void kvm_arch_vcpu_destroy(struct kvm_vcpu *vcpu);
long kvm_arch_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
			 unsigned long arg);
int kvm_arch_vcpu_run(struct kvm_vcpu *vcpu);
/* The memslot address space @vcpu sees now; its own thread, or its ioctl. */
int kvm_arch_vcpu_as_id(struct kvm_vcpu *vcpu);
int kvm_arch_prepare_memory_region(struct kvm *kvm,
				   const struct kvm_memory_slot *new);
/* The slot's range must no longer be reachable by any vCPU on return. */
void kvm_arch_flush_memslot(struct kvm *kvm,
			    const struct kvm_memory_slot *old);

#endif /* UKVM_H */
