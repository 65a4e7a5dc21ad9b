// SPDX-License-Identifier: GPL-2.0-only
/*
 * ukvm core: dirty page logging for slots with KVM_MEM_LOG_DIRTY_PAGES.
 */
#include <linux/bitops.h>
#include <linux/export.h>

#include "ukvm.h"

void kvm_mark_page_dirty(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memory_slot *slot = kvm_gfn_to_memslot(kvm, gfn);

	if (slot && slot->dirty_bitmap)
		set_bit(gfn - slot->base_gfn, slot->dirty_bitmap);
}
EXPORT_SYMBOL_GPL(kvm_mark_page_dirty);
