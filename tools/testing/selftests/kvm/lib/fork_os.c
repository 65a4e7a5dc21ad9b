// SPDX-License-Identifier: GPL-2.0
/*
 * fork_os: processes that fork, copy on write, switch and exit, in a tiny
 * guest kernel.  See include/fork_os.h.
 *
 * Everything but fork_os_setup() is guest code.  The #PF handler
 * interrupts guest code that may hold values in SSE registers, so this
 * file uses general-purpose registers only.
 */
#pragma GCC target("general-regs-only")

#include "fork_os.h"

#define PF_VECTOR	14
#define PTE_COW		(1ULL << 9)	/* available to software */
#define PTE_FRAME	0x000ffffffffff000ULL
#define PFEC_P		(1ULL << 0)
#define PFEC_W		(1ULL << 1)
#define WORDS_PER_PAGE	512
#define LAST_WORD	(WORDS_PER_PAGE - 1)

enum frame_role { ROLE_NONE, ROLE_TABLE, ROLE_DATA };

struct fork_os_proc {
	int alive;
	uint64_t pml4, pdpt, pd, pt;
	uint64_t expect[FORK_OS_PAGES];
};

/* Guest state; each VM starts from the image's zeroed copy. */
static uint64_t pool;
static unsigned int nr_frames, nr_free;
static uint16_t free_stack[FORK_OS_MAX_FRAMES];
static uint16_t refs[FORK_OS_MAX_FRAMES];
static uint8_t roles[FORK_OS_MAX_FRAMES];
static struct fork_os_proc procs[FORK_OS_MAX_PROCS];
static int current = -1;
static struct fork_os_stats stats;

/* ---- host side ------------------------------------------------------------ */

asm(".pushsection .text\n"
    ".globl fork_os_pf_entry\n"
    "fork_os_pf_entry:\n"
    /* Error code + 5-word frame: RSP is 16-byte aligned here. */
    "	push %rax\n"
    "	push %rcx\n"
    "	push %rdx\n"
    "	push %rsi\n"
    "	push %rdi\n"
    "	push %r8\n"
    "	push %r9\n"
    "	push %r10\n"
    "	push %r11\n"
    "	sub $8, %rsp\n"
    "	mov 80(%rsp), %rdi\n"
    "	mov %cr2, %rsi\n"
    "	call fork_os_pf\n"
    "	add $8, %rsp\n"
    "	pop %r11\n"
    "	pop %r10\n"
    "	pop %r9\n"
    "	pop %r8\n"
    "	pop %rdi\n"
    "	pop %rsi\n"
    "	pop %rdx\n"
    "	pop %rcx\n"
    "	pop %rax\n"
    "	add $8, %rsp\n"
    "	iretq\n"
    ".popsection\n");

extern char fork_os_pf_entry[];
void fork_os_pf(uint64_t err, uint64_t cr2);

uint64_t fork_os_setup(struct kvm_vm *vm, unsigned int frames)
{
	uint64_t *idt = addr_gpa2hva(vm, VM_IDT_GPA);
	uint64_t h = (uint64_t)(uintptr_t)fork_os_pf_entry;
	uint64_t gpa;

	TEST_ASSERT(frames <= FORK_OS_MAX_FRAMES, "%u frames, at most %d",
		    frames, FORK_OS_MAX_FRAMES);
	gpa = vm_alloc(vm, (uint64_t)frames * PAGE_SIZE);
	memset(addr_gpa2hva(vm, gpa), 0, (uint64_t)frames * PAGE_SIZE);
	/* 64-bit interrupt gate, DPL 0 (SDM vol 3, 6.14.1). */
	idt[2 * PF_VECTOR] = (h & 0xffff) | ((uint64_t)GDT_SEL_CODE64 << 16) |
			     (0x8eULL << 40) | (((h >> 16) & 0xffff) << 48);
	idt[2 * PF_VECTOR + 1] = h >> 32;
	return gpa;
}

/* ---- frames --------------------------------------------------------------- */

static inline void invlpg(uint64_t va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void load_cr3(uint64_t v)
{
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static volatile uint64_t *frame_words(uint64_t gpa)
{
	return (volatile uint64_t *)(uintptr_t)gpa;	/* identity map */
}

static unsigned int frame_index(uint64_t gpa)
{
	unsigned int idx = (gpa - pool) / PAGE_SIZE;

	GUEST_ASSERT(gpa >= pool && idx < nr_frames);
	return idx;
}

static uint64_t frame_alloc(enum frame_role role)
{
	volatile uint64_t *w;
	unsigned int idx, i;
	uint64_t gpa;

	GUEST_ASSERT(nr_free > 0);
	idx = free_stack[--nr_free];
	gpa = pool + (uint64_t)idx * PAGE_SIZE;
	w = frame_words(gpa);
	for (i = 0; i < WORDS_PER_PAGE; i++)
		GUEST_ASSERT_EQ(w[i], 0);
	if (roles[idx] == ROLE_DATA && role == ROLE_TABLE)
		stats.data_to_table++;
	if (roles[idx] == ROLE_TABLE && role == ROLE_DATA)
		stats.table_to_data++;
	roles[idx] = role;
	refs[idx] = 1;
	return gpa;
}

/* Wipe what the frame can hold (see fork_os.h); push it for reuse. */
static void frame_free(uint64_t gpa)
{
	volatile uint64_t *w = frame_words(gpa);
	unsigned int idx = frame_index(gpa), i;

	GUEST_ASSERT_EQ(refs[idx], 0);
	for (i = 0; i < FORK_OS_PAGES; i++)
		w[i] = 0;
	w[LAST_WORD] = 0;
	free_stack[nr_free++] = idx;
}

static void frame_put(uint64_t gpa)
{
	unsigned int idx = frame_index(gpa);

	GUEST_ASSERT(refs[idx] > 0);
	if (--refs[idx] == 0)
		frame_free(gpa);
}

/* The content a page holding @v has. */
static uint64_t content(uint64_t v, unsigned int word)
{
	return word == LAST_WORD ? ~v : v + word * 0x0101010101010101ULL;
}

static void fill_words(volatile uint64_t *w, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < FORK_OS_WORDS; i++)
		w[i] = content(v, i);
	w[LAST_WORD] = content(v, LAST_WORD);
}

static uint64_t page_va(unsigned int page)
{
	return FORK_OS_VA + (uint64_t)page * PAGE_SIZE;
}

/* ---- processes ------------------------------------------------------------ */

void fork_os_init(uint64_t pool_gpa, unsigned int frames)
{
	unsigned int i;

	GUEST_ASSERT(frames <= FORK_OS_MAX_FRAMES);
	pool = pool_gpa;
	nr_frames = frames;
	/* Frame 0 on top. */
	for (i = 0; i < frames; i++)
		free_stack[i] = frames - 1 - i;
	nr_free = frames;
}

static int proc_alloc(void)
{
	int pid;

	for (pid = 0; pid < FORK_OS_MAX_PROCS; pid++)
		if (!procs[pid].alive)
			return pid;
	return -1;
}

/* An address space with empty data slots: PML4, PDPT, PD and PT. */
static void proc_tables(struct fork_os_proc *p)
{
	const volatile uint64_t *kernel = frame_words(VM_PML4_GPA);

	p->pml4 = frame_alloc(ROLE_TABLE);
	p->pdpt = frame_alloc(ROLE_TABLE);
	p->pd = frame_alloc(ROLE_TABLE);
	p->pt = frame_alloc(ROLE_TABLE);
	frame_words(p->pml4)[0] = kernel[0];
	frame_words(p->pml4)[1] = p->pdpt | PTE_PRESENT | PTE_WRITABLE;
	frame_words(p->pdpt)[0] = p->pd | PTE_PRESENT | PTE_WRITABLE;
	frame_words(p->pd)[0] = p->pt | PTE_PRESENT | PTE_WRITABLE;
	p->alive = 1;
}

int fork_os_spawn(uint64_t seed)
{
	int pid = proc_alloc();
	struct fork_os_proc *p;
	unsigned int i;

	if (pid < 0 || nr_free < 4 + FORK_OS_PAGES)
		return -1;
	p = &procs[pid];
	proc_tables(p);
	for (i = 0; i < FORK_OS_PAGES; i++) {
		uint64_t f = frame_alloc(ROLE_DATA);

		fill_words(frame_words(f), seed + i);
		frame_words(p->pt)[i] = f | PTE_PRESENT | PTE_WRITABLE;
		p->expect[i] = seed + i;
	}
	return pid;
}

/*
 * The child shares every data frame; both PTs lose write access and get
 * the COW bit.  The parent's changed entries are flushed if it is the
 * address space in use (a CR3 load flushes the others'; SDM vol 3, 4.10.4).
 */
int fork_os_fork(int parent)
{
	struct fork_os_proc *pp = &procs[parent], *c;
	volatile uint64_t *ppt = frame_words(pp->pt), *cpt;
	int pid = proc_alloc();
	unsigned int i;

	GUEST_ASSERT(pp->alive);
	/* Tables, and a COW copy for every page in the worst case. */
	if (pid < 0 || nr_free < 4 + FORK_OS_PAGES)
		return -1;
	c = &procs[pid];
	proc_tables(c);
	cpt = frame_words(c->pt);
	for (i = 0; i < FORK_OS_PAGES; i++) {
		uint64_t pte = ppt[i];

		if (pte & PTE_WRITABLE) {
			pte = (pte & ~PTE_WRITABLE) | PTE_COW;
			ppt[i] = pte;
			if (current == parent)
				invlpg(page_va(i));
		}
		cpt[i] = pte;
		refs[frame_index(pte & PTE_FRAME)]++;
		c->expect[i] = pp->expect[i];
	}
	stats.forks++;
	return pid;
}

void fork_os_exit(int pid)
{
	struct fork_os_proc *p = &procs[pid];
	volatile uint64_t *pt = frame_words(p->pt);
	unsigned int i;

	GUEST_ASSERT(p->alive);
	if (current == pid)
		fork_os_switch(-1);
	for (i = 0; i < FORK_OS_PAGES; i++) {
		uint64_t f = pt[i] & PTE_FRAME;

		pt[i] = 0;
		frame_put(f);
	}
	frame_put(p->pt);
	frame_put(p->pd);
	frame_put(p->pdpt);
	frame_put(p->pml4);
	p->alive = 0;
	stats.exits++;
}

void fork_os_switch(int pid)
{
	GUEST_ASSERT(pid < 0 || procs[pid].alive);
	load_cr3(pid < 0 ? VM_PML4_GPA : procs[pid].pml4);
	current = pid;
	stats.switches++;
}

/* A write through the process's mapping: the first store may take a COW fault. */
void fork_os_write(unsigned int page, uint64_t value)
{
	GUEST_ASSERT(current >= 0 && page < FORK_OS_PAGES);
	fill_words((volatile uint64_t *)page_va(page), value);
	procs[current].expect[page] = value;
}

void fork_os_verify(void)
{
	unsigned int i, w;

	GUEST_ASSERT(current >= 0);
	for (i = 0; i < FORK_OS_PAGES; i++) {
		volatile uint64_t *p = (volatile uint64_t *)page_va(i);
		uint64_t v = procs[current].expect[i];

		for (w = 0; w < FORK_OS_WORDS; w++)
			GUEST_ASSERT_EQ(p[w], content(v, w));
		GUEST_ASSERT_EQ(p[LAST_WORD], content(v, LAST_WORD));
	}
}

int fork_os_current(void)
{
	return current;
}

int fork_os_alive(int pid)
{
	return pid >= 0 && pid < FORK_OS_MAX_PROCS && procs[pid].alive;
}

const struct fork_os_stats *fork_os_stats(void)
{
	stats.frames_free = nr_free;
	return &stats;
}

/*
 * Copy on write.  Only a write to a present COW page of the current
 * process may fault; anything else is a bug of the paging under test.
 */
void fork_os_pf(uint64_t err, uint64_t cr2)
{
	volatile uint64_t *pt;
	uint64_t pte, f, n;
	unsigned int i, w;

	GUEST_ASSERT_EQ(err & (PFEC_P | PFEC_W), PFEC_P | PFEC_W);
	GUEST_ASSERT(current >= 0 && cr2 >= FORK_OS_VA &&
		     cr2 < page_va(FORK_OS_PAGES));
	i = (cr2 - FORK_OS_VA) / PAGE_SIZE;
	pt = frame_words(procs[current].pt);
	pte = pt[i];
	GUEST_ASSERT(pte & PTE_COW);
	f = pte & PTE_FRAME;
	if (refs[frame_index(f)] == 1) {
		pt[i] = (pte & ~PTE_COW) | PTE_WRITABLE;
		stats.cow_reuses++;
	} else {
		n = frame_alloc(ROLE_DATA);
		for (w = 0; w < FORK_OS_WORDS; w++)
			frame_words(n)[w] = frame_words(f)[w];
		frame_words(n)[LAST_WORD] = frame_words(f)[LAST_WORD];
		frame_put(f);
		pt[i] = n | PTE_PRESENT | PTE_WRITABLE;
		stats.cow_copies++;
	}
	invlpg(cr2);
}
