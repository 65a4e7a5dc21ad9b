/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__PAUSE_H
#define KVM__PAUSE_H

#include "kvm/util.h"

struct kvm;
struct kvm_cpu;

/*
 * Parking every vCPU outside KVM_RUN, for `lkvm pause`, `lkvm debug` and
 * the gdb stub.  kvm__pause() kicks every vCPU (SIGUSR1 + immediate_exit,
 * so a pending PIO/MMIO exit is completed first) and returns once all of
 * them wait in kvm_cpu__park(); the register state read then is exact.
 * Pauses nest: the vCPUs run again when every pause was resumed.  When the
 * guest is stopped (Ctrl-A x, `lkvm stop`) parked vCPUs leave anyway.
 *
 * Guest time: if KVM has KVM_CAP_ADJUST_CLOCK, the first pause reads the
 * VM clock (KVM_GET_CLOCK) and the last resume sets it back, so kvmclock
 * does not jump over the time spent paused.
 */

/* Any thread but a vCPU thread.  Returns false if the guest is stopping. */
bool kvm__pause(struct kvm *kvm);
void kvm__resume(struct kvm *kvm);
bool kvm__paused(struct kvm *kvm);

/*
 * `lkvm pause` / `lkvm resume`: at most one such pause at a time.  0, or
 * -EALREADY (already paused / not paused by lkvm pause), -ESHUTDOWN.
 */
int kvm__user_pause(struct kvm *kvm);
int kvm__user_resume(struct kvm *kvm);
bool kvm__user_paused(void);

/*
 * A vCPU thread stops itself and every other vCPU (a debug exit for the
 * gdb stub): the pause is taken for the caller and released with
 * kvm__release_self_pauses() from another thread.  Returns after that.
 */
void kvm_cpu__pause_self(struct kvm_cpu *cpu);
/* Drop every pause kvm_cpu__pause_self() took (the gdb stub continuing). */
void kvm__release_self_pauses(struct kvm *kvm);

/* vCPU loop: wait here while a pause is in force. */
void kvm_cpu__park(struct kvm_cpu *cpu);
/* vCPU thread leaving its loop for good: a pause stops waiting for it. */
void kvm_cpu__exited(struct kvm_cpu *cpu);

#endif
