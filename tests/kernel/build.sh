#!/usr/bin/env bash
# Builds (or finds in the cache) one of nlkit's own kernels, each Debian's kernel source
# plus nlkit's patch series for it, configured as allnoconfig + fragments, compiled with
# ccache:
#
#   debug        linux-source-6.12 + patches/linux-6.12, base.config + linux-6.12.config
#                + debug.config (KASAN, lockdep, kmemleak): the whole test suite runs on it
#   7.3-patched  linux-source-7.3 + patches/linux-7.3, base.config + linux-7.3.config:
#                the tests of what the series changes run on it (equalize's)
#
# Why the debug options are on 6.12: see README.md, "The kernels and where they come from".
#
# The cache key is a hash of the source tarball, the fragments, the patches and this
# script, so any change to one of them gives a new build.
# Prints the build directory (usable as KDIR= for out-of-tree modules; the image is
# <dir>/arch/x86/boot/bzImage) on stdout; progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${NLKIT_CACHE:-/var/cache/nlkit}
name=${1:?usage: build.sh debug|7.3-patched}
log() { printf '[%s kernel] %s\n' "$name" "$*" >&2; }

case $name in
debug) series=6.12 configs=(base.config linux-6.12.config debug.config) ;;
7.3-patched) series=7.3 configs=(base.config linux-7.3.config) ;;
*) echo "build.sh: unknown kernel $name (debug, 7.3-patched)" >&2; exit 2 ;;
esac
srcpkg=linux-source-$series
tarball=/usr/src/$srcpkg.tar.xz
if [ "$series" = 6.12 ] && ! dpkg-query -W -f='${Status}' "$srcpkg" 2>/dev/null | grep -q 'install ok installed'; then
	log "installing $srcpkg"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$srcpkg" >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$srcpkg" >/dev/null; }
fi
# 7.3's source comes from trixie-backports as a file (tests/setup/deps.sh keeps it)
[ -f "$tarball" ] || { log "no $tarball: run tests/setup/deps.sh"; exit 1; }

patches=()
if [ -d "$top/patches/linux-$series" ]; then
	while IFS= read -r p; do patches+=("$p"); done < <(find "$top/patches/linux-$series" -name '*.patch' | sort)
fi
fragment=$(mktemp)
trap 'rm -f "$fragment"' EXIT
for c in "${configs[@]}"; do cat "$here/$c"; done >"$fragment"
key=$( {
	echo "$name"
	sha256sum <"$tarball"
	cat "$fragment" "$0"
	for p in "${patches[@]}"; do echo "patch ${p##*/}"; cat "$p"; done
} | sha256sum | cut -c1-16)

dir=$cache/kernels/$name-$key
img=$dir/build/arch/x86/boot/bzImage
if [ -f "$dir/.complete" ] && [ -f "$img" ]; then
	log "cached: $dir ($srcpkg, ${#patches[@]} patches)"
	echo "$dir/build"
	exit 0
fi

start=$(date +%s)
log "building $srcpkg with ${#patches[@]} patches -> $dir (key $key)"
rm -rf "$dir"
mkdir -p "$dir/build"
log "extracting $tarball"
tar -C "$dir" -xf "$tarball"
mv "$dir/$srcpkg" "$dir/src"
for p in "${patches[@]}"; do
	log "applying ${p##*/}"
	patch -d "$dir/src" -p1 --quiet --forward <"$p"
done

export CCACHE_DIR=$cache/ccache CCACHE_BASEDIR=$dir CCACHE_NOHASHDIR=1 CCACHE_SLOPPINESS=time_macros
mkdir -p "$CCACHE_DIR"
ccache -M 10G >/dev/null 2>&1 || true
export KBUILD_BUILD_TIMESTAMP="$srcpkg $key" KBUILD_BUILD_USER=nlkit KBUILD_BUILD_HOST=nlkit
mk=(make -C "$dir/src" O="$dir/build" CC="ccache gcc" HOSTCC="ccache gcc" -j"$(nproc)")
"${mk[@]}" -s allnoconfig KCONFIG_ALLCONFIG="$fragment" >&2

# Every line of the fragments must have survived (a typo or a missing dependency would
# silently drop an option).
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	opt=${line%%=*} val=${line#*=}
	if [ "$val" = n ]; then
		grep -qE "^$opt=" "$dir/build/.config" && { log "config: $opt should be off"; bad=1; }
	else
		grep -qxF "$line" "$dir/build/.config" || { log "config: $line did not stick"; bad=1; }
	fi
done <"$fragment"
[ "$bad" = 0 ] || { log "fix tests/kernel/{${configs[*]}}"; exit 1; }

log "compiling (this takes a while on 2 cores; ccache makes rebuilds fast)"
"${mk[@]}" bzImage modules >"$dir/build.log" 2>&1 || { tail -40 "$dir/build.log" >&2; exit 1; }
touch "$dir/.complete"
log "built in $(( $(date +%s) - start )) s; ccache: $(ccache -s 2>/dev/null | grep -iE 'hits|misses' | tr -s ' ' | tr '\n' ' ')"
# keep the cache to the two newest builds of this kernel
ls -dt "$cache/kernels/$name"-* 2>/dev/null | tail -n +3 | xargs -r rm -rf
echo "$dir/build"
