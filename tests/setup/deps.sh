#!/usr/bin/env bash
# Installs everything nlkit's build and VM test runner need on Debian 12 (bookworm), as root.
# Idempotent and quick when everything is present: it only calls apt when something is missing.
#
#   tests/setup/deps.sh                build + VM tooling + stock kernels (6.1, 6.12 and 7.3)
#   tests/setup/deps.sh --kernel 6.18  the same and Debian's 6.18 (asked for by name only:
#                                      vmrun -deps -kernels 6.18)
#   tests/setup/deps.sh --bench        also perf, for make bench PROFILE=1
#   tests/setup/deps.sh --no-kernels   tooling only
set -euo pipefail

want_kernels=1
want_bench=0
bpo_series=(7.3) # Debian 13's kernels from trixie-backports: 7.3, and what --kernel adds
while [ $# -gt 0 ]; do
	case $1 in
	--no-kernels) want_kernels=0 ;;
	--bench) want_bench=1 ;;
	--kernel) bpo_series+=("${2:?--kernel needs a series, e.g. 6.18}"); shift ;;
	*) echo "deps.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

log() { printf '[deps] %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
	log "must run as root (installs Debian packages)"; exit 1
fi
export DEBIAN_FRONTEND=noninteractive

stamp=/var/lib/nlkit/apt-updated
apt_updated=0
apt_update() {
	[ "$apt_updated" = 1 ] && return 0
	log "apt-get update"
	apt-get update -qq -o Acquire::Retries=3 >/dev/null || apt-get update -o Acquire::Retries=3
	mkdir -p "${stamp%/*}"; touch "$stamp"
	apt_updated=1
}

missing() { # prints the packages of "$@" that are not installed
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || echo "$p"
	done
}

base=(build-essential bc flex bison libelf-dev libssl-dev dwarves ccache kmod cpio
	qemu-system-x86 busybox-static iproute2 iperf3 ethtool tcpdump
	xz-utils zstd python3 python3-yaml python3-jsonschema dkms git
	nftables # the guest init holds the netfilter hook static keys (see tests/vm/guestinit)
	wrk nginx-light) # the peers of nlkit load wget and nlkit load server (TestBenchmarkLoad)
[ "$want_bench" = 1 ] && base+=(linux-perf)
need=$(missing "${base[@]}")
if [ -n "$need" ]; then
	apt_update
	log "installing: $need"
	# nginx's package starts a server on port 80: make bench runs its own in the guest,
	# so services stay down while packages install (policy-rc.d, as in containers)
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

# virtme-ng exists only in trixie: add trixie at Pin-Priority 100 and install exactly
# virtme-ng/trixie, so nothing else is upgraded from trixie.
if ! command -v vng >/dev/null; then
	if [ ! -f /etc/apt/sources.list.d/nlkit-trixie.sources ]; then
		cat >/etc/apt/sources.list.d/nlkit-trixie.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		cat >/etc/apt/preferences.d/nlkit-trixie <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
		apt_updated=0
	fi
	apt_update
	log "installing virtme-ng/trixie"
	apt-get install -y -qq --no-install-recommends virtme-ng/trixie >/dev/null
fi

# Newest stock 6.1 and 6.12 kernels (image + headers) the archive offers.
newest_kernel() { # $1: series regex [, a wrapper that runs apt-cache on another index, apt_bpo]
	# -> prints the version string (e.g. 6.12.117+deb12-amd64)
	local re=$1; shift
	"$@" apt-cache search --names-only "^linux-image-$re" 2>/dev/null |
		awk '{print $1}' | sed 's/^linux-image-//' | grep -E -- '-amd64$' | grep -v -- '-rt-\|-cloud-\|-dbg' |
		sort -V | tail -n1 || true # no match is an empty answer, not an exit (set -e, pipefail)
}
if [ "$want_kernels" = 1 ]; then
	# Debian 12's kernel updates (6.1's newest and the 6.12 series) are in
	# bookworm-security, which an install has and a bare debootstrap does not
	if ! grep -rqs 'bookworm-security' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		log "adding bookworm-security (Debian's kernel updates) to the apt sources"
		cat >/etc/apt/sources.list.d/nlkit-bookworm-security.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		apt_updated=0
		apt_update
	fi
	[ -f "$stamp" ] || apt_update
	pkgs=()
	for series in '6\.1\.0-[0-9]+-amd64$' '6\.12\.[0-9]+\+deb12-amd64$'; do
		v=$(newest_kernel "$series")
		if [ -z "$v" ]; then apt_update; v=$(newest_kernel "$series"); fi
		[ -n "$v" ] || { log "no kernel matching $series in the archive (apt sources: bookworm and bookworm-security)"; exit 1; }
		pkgs+=("linux-image-$v" "linux-headers-$v")
	done
	# the debug kernel's source, and the kernel's YNL tools (make ynl)
	pkgs+=(linux-source-6.12)
	need=$(missing "${pkgs[@]}")
	if [ -n "$need" ]; then
		apt_update
		log "installing kernels: $need"
		# INITRD=No: virtme-ng boots them with its own initramfs, so Debian's (most of
		# an install's time: every module decompressed and packed again) is not made.
		# shellcheck disable=SC2086
		INITRD=No apt-get install -y -qq --no-install-recommends $need >/dev/null
	fi
fi
# Debian 13's 7.3 (and 6.18 when asked for), from trixie-backports, unpacked, not
# installed. Their packages cannot be installed on Debian 12: linux-headers-7.3 depends
# on gcc-14 and linux-kbuild-7.3 on libc6 >= 2.38 (bookworm: 2.36), and installing from
# trixie would upgrade libc and half the system. So: a private apt index of
# trixie-backports (apt_bpo: the system's apt sources stay as they are), `apt-get
# download` of exactly the kernel's packages, and `dpkg -x` into / (the guests boot the
# host's root, and find the modules in /lib/modules). Modules are built against
# Debian's own headers and configuration, so they load in Debian's image; only what
# cannot run or build here is replaced:
#  - the kbuild host tools linked against glibc 2.38 (modpost, objtool, resolve_btfids)
#    are rebuilt from the kernel's linux-source with bookworm's gcc (modules_prepare);
#  - the tree builds with gcc-12 (override lines appended to its .kernelvariables):
#    -fmin-function-alignment, which Debian's gcc-14 configuration turns on, is new in
#    gcc 14, so CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT is unset and -falign-functions
#    aligns the same;
#  - module BTF is not generated: bookworm's pahole 1.24 lacks the --btf_features the
#    7.3 build passes, so the headers' vmlinux (the BTF base, used for nothing else) is
#    set aside and kbuild skips BTF, as it does for any tree without one.
# Packages the index no longer lists (6.18's headers, kbuild and source: the index keeps
# only its images) are fetched from the archive's pool by name and the image's version.
# The source package's tarball is kept in /usr/src for nlkit's patched 7.3 kernel
# (tests/kernel/build.sh). A stamp in the modules directory marks a complete unpack; a
# newer release of a series is unpacked beside the old one (its source replaces the old).
bpo=/var/lib/nlkit/apt-trixie-backports
apt_bpo() { # runs apt-get or apt-cache ($1) on the private trixie-backports index
	local tool=$1; shift
	"$tool" -o Dir::Etc::SourceList="$bpo/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$bpo/lists" -o Dir::Cache="$bpo/cache" -o Debug::NoLocking=1 "$@"
}
in_bpo() { apt_bpo apt-cache show "$1" 2>/dev/null | grep -q '^Package:'; } # a real package, not a name others depend on
fetch_bpo() { # $1: dir, $2: package, $3: version: from the index, or else from the pool
	local dir=$1 pkg=$2 ver=$3 arch
	if in_bpo "$pkg"; then
		(cd "$dir" && apt_bpo apt-get download -qq "$pkg" 2>&1 |
			grep -v '^W: Download is performed unsandboxed' >&2 || true)
		compgen -G "$dir/${pkg}_*.deb" >/dev/null && return 0
	fi
	for arch in amd64 all; do
		curl -fsSL --retry 3 -o "$dir/${pkg}_${ver}_$arch.deb" \
			"http://deb.debian.org/debian/pool/main/l/linux/${pkg}_${ver}_$arch.deb" 2>/dev/null && return 0
		rm -f "$dir/${pkg}_${ver}_$arch.deb"
	done
	log "$pkg $ver: neither in trixie-backports' index nor in the pool"
	return 1
}
keep_source() { # $1: dir holding linux-source-SERIES's .deb, $2: series
	# the source stays in /usr/src, as linux-source-6.12's package leaves it: nlkit's
	# patched 7.3 kernel is built from it (tests/kernel/build.sh)
	dpkg-deb --fsys-tarfile "$1"/linux-source-*.deb | tar -x -C / "./usr/src/linux-source-$2.tar.xz"
}
unpack_bpo_kernel() { # $1: version (7.3.4+deb13-amd64)
	local v=$1 abi=${1%-amd64} series work ver p
	series=$(echo "$v" | sed -E 's/^([0-9]+\.[0-9]+)\..*/\1/')
	local src=/usr/src/linux-source-$series.tar.xz
	[ -f "/usr/lib/modules/$v/.nlkit-unpacked" ] && [ -f "$src" ] && return 0
	ver=$(apt_bpo apt-cache show "linux-image-$v" | sed -n 's/^Version: //p' | head -n1)
	work=$(mktemp -d /var/tmp/nlkit-kernel-XXXX)
	if [ -f "/usr/lib/modules/$v/.nlkit-unpacked" ]; then # unpacked before the source was kept
		log "downloading linux-source-$series $ver for nlkit's patched $series kernel"
		fetch_bpo "$work" "linux-source-$series" "$ver"
		keep_source "$work" "$series"
		rm -rf "$work"
		return 0
	fi
	log "downloading Debian's $v ($ver, trixie-backports) to unpack it"
	# the image: one package (6.18), or split in binary, modules and base (7.3)
	for p in "linux-image-$v" "linux-binary-$v" "linux-modules-$v" "linux-base-$v"; do
		if in_bpo "$p"; then fetch_bpo "$work" "$p" "$ver"; fi
	done
	for p in "linux-headers-$v" "linux-headers-$abi-common" "linux-kbuild-$abi" "linux-source-$series"; do
		fetch_bpo "$work" "$p" "$ver"
	done
	local deb
	for deb in "$work"/linux-{image,binary,modules,base,headers,kbuild}-*.deb; do
		[ -f "$deb" ] && dpkg -x "$deb" /
	done
	# the image: /boot/vmlinuz-$v (6.18) or /usr/lib/modules/$v/vmlinuz (7.3)
	[ -f "/boot/vmlinuz-$v" ] || [ -f "/usr/lib/modules/$v/vmlinuz" ] || { log "$v: no kernel image in its packages"; exit 1; }
	depmod "$v"
	log "rebuilding $v's kbuild host tools with this machine's gcc (modpost, objtool, resolve_btfids)"
	keep_source "$work" "$series"
	tar -xJ -C "$work" -f "$src"
	local config=/usr/lib/modules/$v/config # 7.3's place; 6.18's is /boot's
	[ -f "$config" ] || config=/boot/config-$v
	mkdir -p "$work/o" && cp "$config" "$work/o/.config"
	make -s -C "$work/linux-source-$series" O="$work/o" olddefconfig >/dev/null
	make -s -C "$work/linux-source-$series" O="$work/o" -j"$(nproc)" modules_prepare >/dev/null
	local kb=/usr/lib/linux-kbuild-$abi
	cp "$work/o/scripts/mod/modpost" "$kb/scripts/mod/modpost.real-lsb-64"
	cp "$work/o/tools/objtool/objtool" "$kb/tools/objtool/objtool.real-x86"
	cp "$work/o/tools/bpf/resolve_btfids/resolve_btfids" "$kb/tools/bpf/resolve_btfids/resolve_btfids"
	cat >>"/usr/src/linux-headers-$v/.kernelvariables" <<'MK'
# nlkit (tests/setup/deps.sh): unpacked on Debian 12, which has no gcc-14
override CC := $(CROSS_COMPILE)gcc-12
override CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT :=
MK
	mv "/usr/src/linux-headers-$v/vmlinux" "/usr/src/linux-headers-$v/vmlinux.btf-base-unused"
	rm -rf "$work"
	touch "/usr/lib/modules/$v/.nlkit-unpacked"
	log "unpacked $v: its image, modules and headers (/usr/src/linux-headers-$v)"
}
if [ "$want_kernels" = 1 ]; then
	mkdir -p "$bpo/lists/partial" "$bpo/cache/archives/partial"
	echo 'deb http://deb.debian.org/debian trixie-backports main' >"$bpo/sources.list"
	for series in "${bpo_series[@]}"; do
		re="${series//./\\.}\\.[0-9]+\\+deb13-amd64\$"
		v=$(newest_kernel "$re" apt_bpo)
		if [ ! -f "$bpo/updated" ] || [ -z "$v" ]; then
			log "apt-get update of trixie-backports (private index: $bpo)"
			apt_bpo apt-get update -qq 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true
			touch "$bpo/updated"
			v=$(newest_kernel "$re" apt_bpo)
		fi
		[ -n "$v" ] || { log "no $series kernel in trixie-backports"; exit 1; }
		unpack_bpo_kernel "$v"
	done
fi

# Go: the machines carry it at /usr/local/go; go.mod names the version.
gobin=$(command -v go || echo /usr/local/go/bin/go)
if ! [ -x "$gobin" ]; then
	log "Go is missing: install Go $(sed -n 's/^go //p' "$(dirname "$0")/../../go.mod") or newer at /usr/local/go"
	exit 1
fi
log "ok"
