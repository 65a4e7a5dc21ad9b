/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fork_os: a tiny guest kernel whose processes fork, copy on write, switch
 * and exit, for tests and benchmarks of guest paging (shadow_fork_test,
 * paging_bench).
 *
 * A process is a 4-level address space: its own PML4, whose slot 0 is the
 * library's identity map (the kernel, shared by all) and whose slot 1 maps
 * FORK_OS_PAGES data pages at FORK_OS_VA through a PDPT, a PD and a PT of
 * its own.  Every page (tables and data) comes from one pool of frames the
 * host hands over, reused most recently freed first, so a frame that was a
 * page table soon holds data and the other way round.
 *
 * fork copies the parent's PT and makes both copies read-only with a
 * software COW bit; a write then takes the guest's own #PF, whose handler
 * (this library's, installed at vector 14) copies the frame or, for the
 * last user, makes it writable again.  The kernel keeps what each page of
 * each process should hold and checks it through the process's mapping.
 *
 * Data pages hold FORK_OS_WORDS words of content at the start and one at
 * the end; table pages use their first FORK_OS_PAGES entries (and PML4
 * slots 0 and 1).  A frame is wiped of exactly those words when freed, and
 * checked to be all zero when allocated: a stray write through a stale
 * translation into a free frame is caught there.
 *
 * Host: fork_os_setup() before running the vCPU.  Guest: fork_os_init(),
 * then fork_os_spawn() / fork() / exit() / switch() / write() / verify();
 * everything runs at CPL 0 with CR0.WP=1 and a single vCPU.
 */
#ifndef SELFTEST_KVM_FORK_OS_H
#define SELFTEST_KVM_FORK_OS_H

#include <stdint.h>

#include "kvm_util.h"

#define FORK_OS_VA		0x8000000000ULL	/* PML4 slot 1 */
#define FORK_OS_PAGES		8		/* data pages per process */
#define FORK_OS_WORDS		4		/* content words at a page's start */
#define FORK_OS_MAX_PROCS	16
#define FORK_OS_MAX_FRAMES	512

struct fork_os_stats {
	uint64_t forks, exits, switches;
	uint64_t cow_copies;	/* a shared frame copied on write */
	uint64_t cow_reuses;	/* the last sharer made writable in place */
	uint64_t data_to_table;	/* a freed data frame reused as a table */
	uint64_t table_to_data;	/* a freed table frame reused as data */
	uint64_t frames_free;
};

/* Host side: a pool of @nr_frames frames and the #PF handler; returns the pool's GPA. */
uint64_t fork_os_setup(struct kvm_vm *vm, unsigned int nr_frames);

/* Guest side.  pids are 0 .. FORK_OS_MAX_PROCS-1; -1 means none free. */
void fork_os_init(uint64_t pool_gpa, unsigned int nr_frames);
int fork_os_spawn(uint64_t seed);
int fork_os_fork(int parent);
void fork_os_exit(int pid);
void fork_os_switch(int pid);		/* -1: the kernel's own CR3 */
void fork_os_write(unsigned int page, uint64_t value);	/* current process */
void fork_os_verify(void);		/* current process: every page */
int fork_os_current(void);
int fork_os_alive(int pid);
const struct fork_os_stats *fork_os_stats(void);

#endif
