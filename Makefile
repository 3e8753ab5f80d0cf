# micro-kernel-rs. `make run` boots the kernel in QEMU; `make test` runs every test.
# Every target installs what it is missing first (as root), or says what to install.

KERNEL_ARGS ?=
, := ,
ISO         ?= build/micro-kernel.iso
ELF         := target/x86_64-unknown-none/release/micro-kernel
MEM         ?= 256M
HTTP_PORT   ?= 8080
REQUESTS    ?= 100000
HOST_TARGET := x86_64-unknown-linux-gnu
# The emulated machine and network card for run and debug: MACHINE=pc (i440FX) or q35;
# NIC=rtl8139, e1000 (82540EM), e1000e (82574L), e1000-82545em, or default (the machine's
# own card: the 82540EM on pc, the 82574L on q35). `make run` is pc with an RTL8139;
# `make run MACHINE=q35` takes q35's default 82574L.
MACHINE     ?= pc
NIC         ?= $(if $(filter pc,$(MACHINE)),rtl8139,default)
# Extra QEMU arguments for run and debug, e.g. a traffic capture:
#   make run QEMU_EXTRA="-object filter-dump,id=f0,netdev=n0,file=build/net.pcap"
QEMU_EXTRA  ?=
QEMU_COMMON := -accel tcg -M $(MACHINE) -m $(MEM) -no-reboot \
               -device isa-debug-exit,iobase=0xf4,iosize=0x04
# UEFI=1 boots the same ISO under OVMF (UEFI firmware) instead of SeaBIOS, on MACHINE (pc
# or q35); with a graphical session (DISPLAY set) the screen, the framebuffer console, opens
# in a window, and the serial log stays in the terminal:  make run UEFI=1 MACHINE=q35
# The firmware's variable store is copied to build/ so that QEMU may write to it.
UEFI        ?=
OVMF_DIR    := /usr/share/OVMF
ifeq ($(UEFI),1)
QEMU_FIRMWARE := -drive if=pflash,format=raw,readonly=on,file=$(OVMF_DIR)/OVMF_CODE_4M.fd \
                 -drive if=pflash,format=raw,file=build/OVMF_VARS.fd
QEMU_DISPLAY  := $(if $(DISPLAY)$(WAYLAND_DISPLAY),,-display none)
else
QEMU_FIRMWARE :=
QEMU_DISPLAY  := -display none
endif
# The card on QEMU's user network (netdev n0, for set_link and filter-dump): $(call qemu_nic,NETDEV-OPTIONS)
qemu_nic = $(if $(filter default,$(NIC)),-nic user$(1),-netdev user$(1) -device $(NIC),netdev=n0)

.PHONY: all kernel iso run debug bochs test soak unit-test lint bench book clean deps-build deps-run

all: iso

deps-build:
	@tools/ensure-deps.sh build

deps-run:
	@tools/ensure-deps.sh build run

kernel: deps-build
	cargo build --release

# The kernel ELF plus grub.cfg, staged in iso/ and packed by grub-mkrescue.
iso: kernel
	tools/mkiso.sh $(ELF) $(ISO) iso $(KERNEL_ARGS)
	@echo "built $(ISO) ($$(stat -c %s $(ISO)) bytes), kernel arguments: '$(KERNEL_ARGS)'"

# Serial console on this terminal (Ctrl-A X quits, Ctrl-A C opens the QEMU monitor), UEFI=1
# for OVMF instead of the BIOS (see QEMU_FIRMWARE above),
# the card NIC on QEMU's user network, host 127.0.0.1:$(HTTP_PORT) forwarded to guest port 80.
# A self-test boot (KERNEL_ARGS=selftest) exits QEMU with 33 when every test passed and 35
# when one failed (src/cpu/qemu.rs); run turns those into success and failure.
run: deps-run iso
	@if [ "$(UEFI)" = 1 ]; then cp $(OVMF_DIR)/OVMF_VARS_4M.fd build/OVMF_VARS.fd; fi
	@port=$$(tools/free-port.sh $(HTTP_PORT)); \
	echo "Booting $(ISO) on $(MACHINE) with NIC=$(NIC). Open http://127.0.0.1:$$port/ once the kernel logs READY."; \
	echo "Quit with Ctrl-A then X."; \
	qemu-system-x86_64 $(QEMU_COMMON) $(QEMU_FIRMWARE) -cdrom $(ISO) -serial mon:stdio $(QEMU_DISPLAY) \
	    $(call qemu_nic,$(,)id=n0$(,)hostfwd=tcp:127.0.0.1:$$port-:80) $(QEMU_EXTRA); \
	status=$$?; \
	if [ $$status = 33 ]; then echo "self-test passed"; exit 0; fi; \
	if [ $$status = 35 ]; then echo "self-test or crash test reported a failure"; exit 1; fi; \
	exit $$status

# QEMU stops before the first instruction and waits for gdb on localhost:1234.
debug: deps-run iso
	@echo "In another terminal:"
	@echo "    gdb $(ELF) -ex 'target remote localhost:1234' -ex 'hbreak kmain' -ex continue"
	qemu-system-x86_64 $(QEMU_COMMON) -cdrom $(ISO) -serial mon:stdio -display none \
	    $(call qemu_nic,$(,)id=n0) -s -S $(QEMU_EXTRA)

# The ISO under Bochs (its own e1000, on its slirp network with host 127.0.0.1:$(HTTP_PORT), or a
# free port, forwarded to guest port 80), its display in this terminal; the serial log goes to
# the file it names. Bochs is slower than QEMU and stricter in places.
bochs: deps-build iso
	@tools/ensure-deps.sh test
	@python3 tests/bochs.py $(ISO) $$(tools/free-port.sh $(HTTP_PORT))

# Everything: formatting, lints, host unit tests, in-kernel self-tests, end-to-end tests.
test: deps-run
	@tools/ensure-deps.sh test browser
	@tests/run-all.sh

# Too long for `make test`: 100,000 HTTP requests against one boot (REQUESTS=N to change),
# then heap, free frames, threads and sockets must be back at their idle values (tests/soak.py).
soak: deps-run kernel
	REQUESTS=$(REQUESTS) python3 tests/soak.py

# Figures, not tests: boot time, requests/s, latency, bulk MB/s and the smallest RAM that
# serves, for this kernel and for a stock Linux guest on the same QEMU (tools/bench.sh).
bench: deps-run
	@tools/ensure-deps.sh bench
	$(MAKE) iso ISO=build/bench.iso KERNEL_ARGS='ip=10.0.2.15/24 gw=10.0.2.2'
	tools/bench.sh build/bench.iso

# The walkthrough as a book (build/book/index.html). Installs mdbook with cargo if missing
# (a few minutes, once); cargo puts it in ~/.cargo/bin, which need not be on PATH.
MDBOOK = $(shell command -v mdbook || echo $(HOME)/.cargo/bin/mdbook)
book:
	@test -x "$(MDBOOK)" || cargo install mdbook --locked
	$(MDBOOK) build docs
	@echo "open build/book/index.html"

unit-test:
	cargo test --lib --target $(HOST_TARGET)

lint:
	cargo fmt --all -- --check
	cargo clippy --release -- -D warnings
	cargo clippy --lib --tests --target $(HOST_TARGET) -- -D warnings

clean:
	cargo clean
	rm -rf build iso/boot/micro-kernel.elf iso/boot/grub/grub.cfg
