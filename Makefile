# SPDX-License-Identifier: GPL-2.0
#
#   make          build ukvm.ko, lkvm, the selftests and the host tests
#   make check    install missing Debian packages (as root), build, run every
#                 test (host, ABI, test bed on upstream kvm-amd and on ukvm)
#   make run      build and boot a Linux guest with lkvm on ukvm in the test bed
#   make bench    benchmarks, ukvm and upstream side by side in one L1 boot
#   make compat   the previous release's lkvm and selftests on today's ukvm,
#                 today's on upstream kvm-amd (also part of make check)
#
# The module is built with Kbuild (see ./Kbuild) against the newest installed
# Debian linux-headers-*-amd64, never `uname -r`; KDIR= overrides.

KVER ?= $(shell ls -d /lib/modules/*-amd64/build 2>/dev/null | sort -V | tail -1 | cut -d/ -f4)
KDIR ?= /lib/modules/$(KVER)/build
VMTEST := tools/testing/vmtest/vmtest
SUBDIRS := $(wildcard tools/kvm tools/testing/selftests/kvm tools/testing/bench tools/testing/unit tools/testing/abi)

.PHONY: all module tools deps check run bench compat clean

all: module tools

module:
	@test -d "$(KDIR)" || { echo "make: no kernel build dir $(KDIR) (apt-get install linux-headers-amd64, or pass KDIR=)"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

tools:
	@set -e; for d in $(SUBDIRS); do $(MAKE) -C $$d; done

deps:
	@scripts/install-deps

check: deps
	@$(MAKE) --no-print-directory all
	@scripts/check

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-guest $(or $(BACKEND),ukvm)

bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench

compat: deps
	@$(MAKE) --no-print-directory all
	@COMPAT_UPSTREAM=1 scripts/check compat

clean:
	@if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	@for d in $(SUBDIRS); do $(MAKE) -C $$d clean; done
