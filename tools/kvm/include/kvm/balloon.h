/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__BALLOON_H
#define KVM__BALLOON_H

#include "kvm/util.h"

struct kvm;

/*
 * Ask the guest's balloon for mib MiB (relative: mib more, or less if
 * negative), clamped to [0, RAM - 64 MiB].  Returns 0 with the new request
 * and what the guest has given so far, or -ENODEV without --balloon.
 */
int balloon__request(struct kvm *kvm, long mib, bool relative,
		     long *target, long *actual);

#endif
