// SPDX-License-Identifier: GPL-2.0
/*
 * abi_report: print, in a canonical order, what the /dev/kvm of the running
 * kernel reports about itself, so that two backends (kvm-amd and ukvm) can
 * be compared with diff:
 *   - KVM_CHECK_EXTENSION of capabilities 0..240, on /dev/kvm and a VM fd;
 *   - KVM_GET_SUPPORTED_CPUID and KVM_GET_EMULATED_CPUID, sorted by leaf;
 *   - KVM_GET_MSR_INDEX_LIST, sorted, and for each MSR whether a new
 *     vCPU's KVM_GET_MSRS reads it and KVM_SET_MSRS takes the value back
 *     (values differ between runs: TSC, ...; they are not printed);
 *   - KVM_GET_MSR_FEATURE_INDEX_LIST, sorted, with each value (KVM_GET_MSRS
 *     on /dev/kvm).
 * A line whose query fails prints the errno name instead of a value.
 * Exit status 0, or 1 when /dev/kvm cannot be opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#define MAX_CAP		240
#define MAX_ENTRIES	512
#define MAX_MSRS	1024

static const char *errname(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case E2BIG: return "E2BIG";
	case ENOTTY: return "ENOTTY";
	case EFAULT: return "EFAULT";
	case ENOMEM: return "ENOMEM";
	case ENXIO: return "ENXIO";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "E?";
	}
}

static void report_caps(int kvm, int vm)
{
	int cap;

	for (cap = 0; cap <= MAX_CAP; cap++) {
		int d = ioctl(kvm, KVM_CHECK_EXTENSION, cap);
		int de = errno;
		int v = vm < 0 ? -1 : ioctl(vm, KVM_CHECK_EXTENSION, cap);
		int ve = errno;

		printf("cap %3d dev ", cap);
		if (d < 0)
			printf("%s", errname(de));
		else
			printf("%d", d);
		printf(" vm ");
		if (vm < 0)
			printf("-");
		else if (v < 0)
			printf("%s", errname(ve));
		else
			printf("%d", v);
		printf("\n");
	}
}

static int cmp_entry(const void *a, const void *b)
{
	const struct kvm_cpuid_entry2 *x = a, *y = b;

	if (x->function != y->function)
		return x->function < y->function ? -1 : 1;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return 0;
}

static void report_cpuid(int kvm, unsigned long req, const char *name)
{
	size_t sz = sizeof(struct kvm_cpuid2) +
		    MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, sz);
	__u32 i;

	if (!c) {
		printf("%s ENOMEM\n", name);
		return;
	}
	c->nent = MAX_ENTRIES;
	if (ioctl(kvm, req, c) < 0) {
		printf("%s %s\n", name, errname(errno));
		free(c);
		return;
	}
	qsort(c->entries, c->nent, sizeof(c->entries[0]), cmp_entry);
	printf("%s nent %u\n", name, c->nent);
	for (i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		printf("%s %08x.%02x flags %x eax %08x ebx %08x ecx %08x edx %08x\n",
		       name, e->function, e->index, e->flags,
		       e->eax, e->ebx, e->ecx, e->edx);
	}
	free(c);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Fills @out (sorted), returns the count or -errno. */
static int get_msr_list(int kvm, unsigned long req, __u32 *out)
{
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + MAX_MSRS * sizeof(__u32));
	int n;

	if (!l)
		return -ENOMEM;
	l->nmsrs = MAX_MSRS;
	if (ioctl(kvm, req, l) < 0) {
		n = -errno;
		free(l);
		return n;
	}
	n = l->nmsrs;
	memcpy(out, l->indices, n * sizeof(__u32));
	free(l);
	qsort(out, n, sizeof(*out), cmp_u32);
	return n;
}

/* "get set", "get -" or "- -": what KVM_GET/SET_MSRS do with @index. */
static void print_msr_access(int vcpu, __u32 index)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;

	if (vcpu < 0) {
		printf(" no-vcpu");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.e.index = index;
	if (ioctl(vcpu, KVM_GET_MSRS, &m) != 1) {
		printf(" - -");
		return;
	}
	printf(" get %s", ioctl(vcpu, KVM_SET_MSRS, &m) == 1 ? "set" : "-");
}

static void report_msr_list(int kvm, int vcpu)
{
	static __u32 idx[MAX_MSRS];
	int i, n = get_msr_list(kvm, KVM_GET_MSR_INDEX_LIST, idx);

	if (n < 0) {
		printf("msr_index %s\n", errname(-n));
		return;
	}
	printf("msr_index count %d\n", n);
	for (i = 0; i < n; i++) {
		printf("msr_index %08x", idx[i]);
		print_msr_access(vcpu, idx[i]);
		printf("\n");
	}
}

static void report_feature_msrs(int kvm)
{
	static __u32 idx[MAX_MSRS];
	int i, n = get_msr_list(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST, idx);
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;

	if (n < 0) {
		printf("feature_msr %s\n", errname(-n));
		return;
	}
	printf("feature_msr count %d\n", n);
	for (i = 0; i < n; i++) {
		int r;

		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = 1;
		m.e.index = idx[i];
		r = ioctl(kvm, KVM_GET_MSRS, &m);
		if (r < 0)
			printf("feature_msr %08x %s\n", idx[i], errname(errno));
		else if (r != 1)
			printf("feature_msr %08x unreadable\n", idx[i]);
		else
			printf("feature_msr %08x = %016llx\n", idx[i],
			       (unsigned long long)m.e.data);
	}
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm, vcpu = -1;

	if (kvm < 0) {
		perror("/dev/kvm");
		return 1;
	}
	printf("api_version %d\n", ioctl(kvm, KVM_GET_API_VERSION, 0));
	printf("vcpu_mmap_size %d\n", ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0));
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		printf("create_vm %s\n", errname(errno));
	report_caps(kvm, vm);
	report_cpuid(kvm, KVM_GET_SUPPORTED_CPUID, "supported_cpuid");
	report_cpuid(kvm, KVM_GET_EMULATED_CPUID, "emulated_cpuid");
	if (vm >= 0) {
		/* As a VMM would: in-kernel irqchip, then a vCPU. */
		ioctl(vm, KVM_CREATE_IRQCHIP, 0);
		vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	}
	report_msr_list(kvm, vcpu);
	report_feature_msrs(kvm);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	close(kvm);
	return 0;
}
