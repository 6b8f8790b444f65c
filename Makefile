# nlkit: kernel modules (kmod/), the Go command `nlkit` (tools/nlkit), tc plugins
# (iproute-ext/) and the VM test runner (tests/).
#
#   make                     build nlkit and the modules for the running kernel (or KDIR=...)
#   make install             install modules (updates/ + depmod), tc plugins, nlkit, its
#                            man pages and bash/zsh completion; DESTDIR=... stages them all
#                            (the modules with INSTALL_MOD_PATH; depmod is then the package's)
#   make dkms-src            a clean source tree for DKMS in $(DESTDIR)/usr/src/nlkit-VERSION
#                            (then: dkms install nlkit/VERSION)
#   make demo                boot a VM with the modules and run the mechanisms' scenarios
#   make bench               the benchmarks in full, nlkit against its in-tree peers: one table,
#                            also out/bench/results.json
#   make test                run every test: host Go tests, then all kernel tests in VMs
#                            on every supported kernel (installs what it needs)
#   make ynl                 the kernel's YNL tools (cli.py, ynl-gen-c.py) for nlkit's specs
#   make vmtest KERNELS=6.12 PKG=./netlinkproto/smoke RUN=TestInfo   one kernel/package/test
#   make vmshell KERNEL=6.12 a shell in the guest with the modules loaded
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
PREFIX ?= /usr/local
DESTDIR ?=
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
TC_LIB_DIR ?= /usr/lib/x86_64-linux-gnu/tc
VERSION := $(shell cat VERSION)
GOFLAGS_LD := -ldflags "-X github.com/nlkit/nlkit/tools/nlkit/cmd.Version=$(VERSION)"

.PHONY: all tools modules iproute-ext install install-user install-modules modules_install dkms-src clean generate ynl \
	check-generated test hosttest vmtest demo bench vmshell deps

all: tools modules iproute-ext

tools:
	$(GO) build $(GOFLAGS_LD) -o bin/nlkit ./tools/nlkit

modules:
	@if [ ! -e "$(KDIR)/Makefile" ]; then \
		echo "nlkit: no kernel build tree at $(KDIR)."; \
		echo "       Install linux-headers-$(KVER), or pass KDIR=/path/to/kernel/build."; \
		exit 1; fi
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

iproute-ext:
	$(MAKE) -C iproute-ext

install: install-modules install-user

# Everything but the modules: nlkit, the tc plugins, man pages and shell completion (the
# two written by nlkit from its own command tree), the daemons' systemd units and their
# default configurations in /etc/nlkit (an existing one is kept).
install-user: tools iproute-ext
	install -D -m 0755 bin/nlkit $(DESTDIR)$(PREFIX)/bin/nlkit
	$(MAKE) -C iproute-ext install DESTDIR=$(DESTDIR) TC_LIB_DIR=$(TC_LIB_DIR)
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	bin/nlkit man $(DESTDIR)$(MANDIR)/man8
	bin/nlkit completion bash > $(DESTDIR)$(BASHCOMPDIR)/nlkit
	bin/nlkit completion zsh > $(DESTDIR)$(ZSHCOMPDIR)/_nlkit
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/nlkit
	for u in dist/systemd/*.service; do \
		sed 's|@BINDIR@|$(PREFIX)/bin|g' $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u); done
	for f in dist/etc/nlkit/*.yaml; do t=$(DESTDIR)$(SYSCONFDIR)/nlkit/$$(basename $$f); \
		if [ -e $$t ]; then echo "nlkit: keeping $$t (the new default is $$f)"; \
		else install -m 0644 $$f $$t; fi; done

install-modules: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=updates modules_install
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); fi

modules_install: install-modules

# The module sources and dkms.conf with this VERSION, nothing built: `dkms add .` would
# copy the whole tree, out/ (tens of MB of VM test output) included.
DKMS_SRC = $(DESTDIR)/usr/src/nlkit-$(VERSION)
dkms-src:
	rm -rf $(DKMS_SRC) && install -d $(DKMS_SRC)
	cp -a Kbuild VERSION $(DKMS_SRC)/
	find kmod \( -name '*.c' -o -name '*.h' -o -name 'Kbuild' -o -name 'Makefile' \) -print0 | \
		xargs -0 -I{} install -D -m 0644 {} $(DKMS_SRC)/{}
	sed 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="$(VERSION)"/' dkms.conf > $(DKMS_SRC)/dkms.conf

generate:
	$(GO) generate ./...

# The kernel's YNL tools and netlink schemas, from Debian's linux-source-6.12, into out/ynl:
# tools/net/ynl (cli.py, ynl-gen-c.py) and Documentation/netlink. The schemas are also put
# beside netlinkproto/specs, where cli.py and ynl-gen-c.py look for them (one directory
# above a spec); ynl-gen-c.py finds the tree's root by its MAINTAINERS. README: "The
# kernel's YNL tools". Python's yaml and jsonschema: make deps.
YNL_TAR ?= /usr/src/linux-source-6.12.tar.xz
YNL_DIR := out/ynl
# unpacked once per source tarball into NLKIT_CACHE when it is writable (a clean clone's
# make test then skips the 20 s of unpacking) and copied from there: a link would not do,
# the VM guests do not see /var/cache
NLKIT_CACHE ?= /var/cache/nlkit
ynl:
	@[ -f $(YNL_TAR) ] || { echo "nlkit: no $(YNL_TAR) (Debian's linux-source-6.12): run make deps"; exit 1; }
	@key=$$(stat -c %s-%Y $(YNL_TAR)); dir=$(NLKIT_CACHE)/ynl-$$key; \
	if ! mkdir -p $$dir 2>/dev/null || ! [ -w $$dir ]; then dir=$(CURDIR)/out/ynl-unpacked; fi; \
	if [ ! -f $$dir/.complete ]; then \
		echo "nlkit: unpacking the kernel's YNL tools from $(YNL_TAR) into $$dir"; \
		rm -rf $$dir.tmp && mkdir -p $$dir.tmp && \
		tar -xJf $(YNL_TAR) -C $$dir.tmp --strip-components=1 \
			$$(basename $(YNL_TAR) .tar.xz)/tools/net/ynl $$(basename $(YNL_TAR) .tar.xz)/Documentation/netlink && \
		echo $$key > $$dir.tmp/.complete && rm -rf $$dir && mv $$dir.tmp $$dir || exit 1; fi; \
	if ! cmp -s $$dir/.complete $(YNL_DIR)/.complete; then \
		rm -rf $(YNL_DIR) && mkdir -p $(YNL_DIR) && cp -a $$dir/. $(YNL_DIR)/; fi
	install -m 0644 $(YNL_DIR)/Documentation/netlink/*.yaml netlinkproto/

# Not kbuild's `clean` for M=$(CURDIR): it deletes every *.mod below M, go.mod included.
clean:
	find kmod \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name 'modules.order' \) -delete
	rm -f Module.symvers modules.order .*.cmd
	$(MAKE) -C iproute-ext clean
	rm -rf bin out netlinkproto/genetlink*.yaml netlinkproto/netlink-raw.yaml

deps:
	tests/setup/deps.sh

# Every test: host-side Go tests (go vet, go test ./...), then the kernel-facing tests
# in VMs on every kernel (stock 6.1, 6.12 and 7.3, the debug kernel; 7.3-patched runs the
# equalize series' tests). 6.18 only when asked: make vmtest KERNELS=6.18.
test:
	$(GO) run ./tests/vm/cmd/vmrun -deps -host -kernels all

hosttest:
	$(GO) vet ./...
	$(GO) test ./...

# One kernel / package / test: make vmtest KERNELS=6.12 PKG=./netlinkproto/smoke RUN=TestX
vmtest:
	$(GO) run ./tests/vm/cmd/vmrun -deps -kernels "$(or $(KERNELS),all)" $(if $(PKG),-pkg "$(PKG)") $(if $(RUN),-run "$(RUN)")

vmshell:
	$(GO) run ./tests/vm/cmd/vmrun -deps -kernels "$(or $(KERNEL),6.12)" -shell

demo:
	$(GO) run ./tests/vm/cmd/vmrun -deps -kernels "$(or $(KERNELS),6.12)" -scenarios

# The benchmarks (tests/scenarios TestBenchmark*) in full, one kernel at a time: the stock 6.1
# and 6.12, and 7.3-patched for the kernel's own equalize; `make test` runs each of them once,
# briefly, so that they cannot rot.
# PROFILE=1 also profiles each benchmark's sides with perf in the guest: out/bench/profile/.
# (make's $(or) splits its arguments at commas: the default list is a variable.)
BENCH_KERNELS = 6.1,6.12,7.3-patched
bench:
	$(GO) run ./tests/vm/cmd/vmrun -deps -kernels "$(or $(KERNELS),$(BENCH_KERNELS))" -bench $(if $(PROFILE),-profile)
