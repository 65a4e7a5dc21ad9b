// SPDX-License-Identifier: GPL-2.0
#include "kvm/init.h"
#include "kvm/kvm.h"

extern const struct init_item __start_lkvm_init[];
extern const struct init_item __stop_lkvm_init[];

int init__run_all(struct kvm *kvm)
{
	for (int level = 0; level < INIT_NR_LEVELS; level++) {
		for (const struct init_item *it = __start_lkvm_init;
		     it < __stop_lkvm_init; it++) {
			if (it->level != level)
				continue;
			pr_debug("init %s", it->name);
			if (it->fn(kvm) < 0)
				return -1;
		}
	}
	return 0;
}

void init__exit_all(struct kvm *kvm)
{
	for (const struct init_item *it = __stop_lkvm_init;
	     it-- > __start_lkvm_init;) {
		if (it->level == -1)
			it->fn(kvm);
	}
}
