#!/usr/bin/env bash
# Installs everything nlkit's build and VM test runner need on Debian 12 (bookworm), as root.
# Idempotent and quick when everything is present: it only calls apt when something is missing.
#
#   tests/setup/deps.sh            build + VM tooling + stock kernels (6.1 and 6.12)
#   tests/setup/deps.sh --no-kernels   tooling only
set -euo pipefail

want_kernels=1
[ "${1:-}" = "--no-kernels" ] && want_kernels=0

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
	xz-utils zstd python3 python3-yaml dkms git
	nftables) # nftables: the guest init holds the netfilter hook static keys (see tests/vm/guestinit)
need=$(missing "${base[@]}")
if [ -n "$need" ]; then
	apt_update
	log "installing: $need"
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
newest_kernel() { # $1: series regex -> prints the version string (e.g. 6.12.117+deb12-amd64)
	apt-cache search --names-only "^linux-image-$1" 2>/dev/null |
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
# Go: the machines carry it at /usr/local/go; go.mod names the version.
gobin=$(command -v go || echo /usr/local/go/bin/go)
if ! [ -x "$gobin" ]; then
	log "Go is missing: install Go $(sed -n 's/^go //p' "$(dirname "$0")/../../go.mod") or newer at /usr/local/go"
	exit 1
fi
log "ok"
