// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: control requests (ctl__parse), a gdb byte stream
 * (gdb__frame as the stub consumes it) and the disassembler of lkvm debug
 * on the same bytes, in 64-, 32- and 16-bit mode.
 */
#include <linux/kvm.h>
#include <string.h>

#include "kvm/control.h"
#include "kvm/debug.h"
#include "kvm/gdb.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static char out[GDB_MAX_PACKET + 1];
	struct ctl_msg m;
	const char *why;
	size_t off = 0;

	ctl__parse(data, size, &m, &why);
	while (off < size) {
		size_t used, len;
		enum gdb_frame f = gdb__frame(data + off, size - off, &used,
					      out, &len);

		if (f == GDB_FRAME_INCOMPLETE)
			break;
		if (!used || used > size - off)
			__builtin_trap();
		if (f == GDB_FRAME_PACKET && (len > GDB_MAX_PACKET || out[len]))
			__builtin_trap();
		off += used;
	}
	for (int mode = 0; mode < 3; mode++) {
		struct kvm_sregs s = { 0 };
		char text[128];

		s.cr0 = mode == 2 ? 0 : 0x80000011;
		s.efer = mode == 0 ? 0x500 : 0;
		s.cs.l = mode == 0;
		s.cs.db = mode == 1;
		if (disasm__one(data, size, &s, 2, 0x1000, text, sizeof(text)) > 15 ||
		    strlen(text) >= sizeof(text))
			__builtin_trap();
	}
	return 0;
}
