// SPDX-License-Identifier: GPL-2.0
/*
 * ucall: guest side (ucall()) and host side (get_ucall() and friends).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

#include "kvm_util.h"

/* Guest code: no libc, no calls out of this binary. */
void ucall(uint64_t cmd, const char *file, int line, const char *text,
	   uint64_t nargs, const uint64_t *args)
{
	volatile struct ucall uc;
	uint64_t i;

	uc.cmd = cmd;
	uc.nargs = nargs;
	for (i = 0; i < UCALL_MAX_ARGS; i++)
		uc.args[i] = i < nargs ? args[i] : 0;
	uc.line = line;
	uc.file = file;
	uc.text = text;
	asm volatile("outl %0, %w1"
		     : : "a"((uint32_t)(uintptr_t)&uc), "d"(UCALL_PIO_PORT)
		     : "memory");
}

uint64_t get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	uint32_t gpa;

	memset(uc, 0, sizeof(*uc));
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != UCALL_PIO_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 ||
	    run->io.count != 1)
		return UCALL_NONE;

	memcpy(&gpa, vcpu_io_data(vcpu), sizeof(gpa));
	memcpy(uc, addr_gpa2hva(vcpu->vm, gpa), sizeof(*uc));
	addr_gpa2hva(vcpu->vm, gpa + sizeof(*uc) - 1);
	if (uc->nargs > UCALL_MAX_ARGS)
		uc->nargs = UCALL_MAX_ARGS;
	return uc->cmd;
}

static const char *exception_name(uint64_t vector)
{
	static const char *const names[] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "?9", "#TS", "#NP", "#SS", "#GP", "#PF", "?15",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	};

	return vector < ARRAY_SIZE(names) ? names[vector] : "?";
}

const char *ucall_str(struct ucall *uc, char *buf, size_t len)
{
	const char *file = host_string_ok(uc->file) ? uc->file : "?";
	const char *text = host_string_ok(uc->text) ? uc->text : "";
	size_t n = 0;
	uint64_t i;

	switch (uc->cmd) {
	case UCALL_EXCEPTION:
		snprintf(buf, len, "guest exception %s (vector %llu) at rip 0x%llx, error code 0x%llx",
			 exception_name(uc->args[0]), (unsigned long long)uc->args[0],
			 (unsigned long long)uc->args[2], (unsigned long long)uc->args[1]);
		return buf;
	case UCALL_RETURNED:
		snprintf(buf, len, "guest function returned without GUEST_DONE()");
		return buf;
	case UCALL_ASSERT:
		n = snprintf(buf, len, "guest assertion failed at %s:%llu: %s",
			     file, (unsigned long long)uc->line, text);
		break;
	case UCALL_SYNC:
		n = snprintf(buf, len, "GUEST_SYNC at %s:%llu", file,
			     (unsigned long long)uc->line);
		break;
	case UCALL_DONE:
		n = snprintf(buf, len, "GUEST_DONE at %s:%llu", file,
			     (unsigned long long)uc->line);
		break;
	default:
		n = snprintf(buf, len, "ucall %llu", (unsigned long long)uc->cmd);
		break;
	}
	for (i = 0; i < uc->nargs && n < len; i++)
		n += snprintf(buf + n, len - n, "%s0x%llx", i ? ", " : " (values: ",
			      (unsigned long long)uc->args[i]);
	if (uc->nargs && n < len)
		snprintf(buf + n, len - n, ")");
	return buf;
}

uint64_t vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	char buf[512];
	uint64_t cmd;

	vcpu_run(vcpu);
	cmd = get_ucall(vcpu, uc);
	if (cmd == UCALL_NONE) {
		vcpu_describe_exit(vcpu, buf, sizeof(buf));
		TEST_FAIL("expected a ucall, got %s", buf);
	}
	if (cmd != UCALL_SYNC && cmd != UCALL_DONE)
		TEST_FAIL("%s", ucall_str(uc, buf, sizeof(buf)));
	return cmd;
}

void vcpu_expect_sync(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	char buf[512];

	if (vcpu_run_ucall(vcpu, uc) != UCALL_SYNC)
		TEST_FAIL("expected GUEST_SYNC, got %s", ucall_str(uc, buf, sizeof(buf)));
}

void vcpu_expect_done(struct kvm_vcpu *vcpu)
{
	struct ucall uc;
	char buf[512];

	if (vcpu_run_ucall(vcpu, &uc) != UCALL_DONE)
		TEST_FAIL("expected GUEST_DONE, got %s", ucall_str(&uc, buf, sizeof(buf)));
}

static void *vcpu_thread_done(void *vcpu)
{
	vcpu_expect_done(vcpu);
	return NULL;
}

/* A failure in any thread ends the whole case (ktap_fail exits). */
void vcpus_run_until_done(struct kvm_vcpu *const *vcpus, unsigned int n)
{
	pthread_t threads[VM_MAX_VCPUS];
	unsigned int i;

	TEST_ASSERT(n >= 1 && n <= VM_MAX_VCPUS, "%u vCPUs", n);
	for (i = 1; i < n; i++)
		TEST_ASSERT_EQ(pthread_create(&threads[i], NULL,
					      vcpu_thread_done, vcpus[i]), 0);
	vcpu_expect_done(vcpus[0]);
	for (i = 1; i < n; i++)
		TEST_ASSERT_EQ(pthread_join(threads[i], NULL), 0);
}
