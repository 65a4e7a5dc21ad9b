/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__TERM_H
#define KVM__TERM_H

#include "kvm/util.h"

struct kvm;

/*
 * The host terminal: stdin feeds the guest console, console output goes
 * to stdout.  When stdin is a terminal it is put in raw mode and restored
 * at exit, on a fatal signal, and after a crash.  Ctrl-A is the escape
 * key: Ctrl-A x quits, Ctrl-A h prints help, Ctrl-A Ctrl-A sends Ctrl-A.
 */

/* Receives typed bytes; returns how many it took (the rest is retried). */
typedef size_t (*term_input_fn)(void *opaque, const u8 *buf, size_t len);

/*
 * Devices may add Ctrl-A escapes: fn runs in the terminal thread when
 * Ctrl-A key is typed; help is its line in Ctrl-A h.  Call at init.
 */
void term__add_escape(u8 key, void (*fn)(void *opaque), void *opaque,
		      const char *help);

/* The console device in use claims the input. */
void term__set_input(term_input_fn fn, void *opaque);
void term__write(const void *buf, size_t len);

#endif
