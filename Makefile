# SPDX-License-Identifier: GPL-2.0
#
# User-facing targets. The kernel build itself is described by module/Kbuild.
#
#   make demo        build, boot Debian 12's kernel in QEMU, load a real model file
#   make check       build and run every test (host unit tests + QEMU guest suite)
#   make check-matrix  the guest suite on Debian 12, 13 and sid kernels (amd64,
#                    arm64, arm64-16k, rt-amd64), one table
#   make check-debug the guest suite on a KASAN/lockdep/kmemleak debug kernel
#   make check-install install the Debian packages into a Debian 12 system, boot it
#   make bench       benchmark heapload against the other ways, in QEMU (CSV + PNG)
#   make module      build module/heapload.ko for KERNELRELEASE (default: running kernel)
#   make tools       build the heapload command and library
#   make sparse      run sparse over the module sources
#   make install     install the module for KERNELRELEASE and the tools
#   make dkms-install  register the source tree with DKMS and build/install it

KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
# Users' builds (DKMS, make module) never use -Werror; the tests pass WERROR=y.
WERROR ?= n
# DEBUG=y: a test build, with the debugfs files the guest tests read.
DEBUG ?= n
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
PREFIX ?= /usr

.PHONY: all module sparse bench check-matrix check-debug check-install clean-module tools guest-tests check demo install dkms-install clean

all: module tools

# What every kernel make below is given. The feature probes run inside
# Kbuild (module/compat/Kbuild.include), as for a plain "make -C KDIR M=".
# ARCH and CROSS_COMPILE, when set, reach the kernel's make for a cross build.
KBUILD_ARGS = -C $(KDIR) M=$(CURDIR)/module \
	$(if $(ARCH),ARCH=$(ARCH)) $(if $(CROSS_COMPILE),CROSS_COMPILE=$(CROSS_COMPILE))

module:
	$(MAKE) $(KBUILD_ARGS) HEAPLOAD_WERROR=$(WERROR) HEAPLOAD_DEBUG=$(DEBUG) modules

sparse:
	$(MAKE) $(KBUILD_ARGS) C=2 HEAPLOAD_WERROR=$(WERROR) HEAPLOAD_DEBUG=$(DEBUG) modules

clean-module:
	$(MAKE) $(KBUILD_ARGS) clean || true
	rm -f module/compat/generated.h

tools:
	$(MAKE) -C tools

guest-tests:
	$(MAKE) -C tests guest

check:
	tests/check.sh

# MATRIX="SUITE[:FLAVOUR] ...": only these kernels (default: all nine).
check-matrix:
	tests/matrix/run.sh $(MATRIX)

check-debug:
	tests/debug/run.sh

check-install:
	tests/install/run.sh

demo:
	tests/demo.sh

bench:
	tests/bench.sh

install: module tools
	$(MAKE) -C $(KDIR) M=$(CURDIR)/module INSTALL_MOD_DIR=updates modules_install
	$(MAKE) -C tools install PREFIX=$(PREFIX)

dkms-install:
	rm -rf /usr/src/heapload-$(VERSION)
	mkdir -p /usr/src/heapload-$(VERSION)
	cp -r dkms.conf Makefile module include /usr/src/heapload-$(VERSION)/
	dkms install -m heapload -v $(VERSION)

clean: clean-module
	$(MAKE) -C tools clean
	$(MAKE) -C tools/examples clean
	$(MAKE) -C tests clean
