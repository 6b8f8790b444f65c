#!/usr/bin/env bash
# Builds (or finds in the cache) nlkit's debug kernel: Debian's linux-source-6.12 plus
# patches/linux-6.12/*.patch, configured as allnoconfig + tests/kernel/debug.config
# (KASAN, lockdep, kmemleak, the networking the tests need), compiled with ccache.
#
# The cache key is a hash of the source package version, the config fragment, every
# patch and this script, so any change to one of them gives a new build.
# Prints the build directory (usable as KDIR= for out-of-tree modules; the image is
# <dir>/arch/x86/boot/bzImage) on stdout; progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${NLKIT_CACHE:-/var/cache/nlkit}
log() { printf '[debug-kernel] %s\n' "$*" >&2; }

srcpkg=linux-source-6.12
if ! dpkg-query -W -f='${Status}' "$srcpkg" 2>/dev/null | grep -q 'install ok installed'; then
	log "installing $srcpkg"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$srcpkg" >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$srcpkg" >/dev/null; }
fi
srcver=$(dpkg-query -W -f='${Version}' "$srcpkg")
tarball=/usr/src/$srcpkg.tar.xz

patches=()
if [ -d "$top/patches/linux-6.12" ]; then
	while IFS= read -r p; do patches+=("$p"); done < <(find "$top/patches/linux-6.12" -name '*.patch' | sort)
fi
key=$( {
	echo "$srcpkg $srcver"
	cat "$here/debug.config" "$0"
	for p in "${patches[@]}"; do echo "patch ${p##*/}"; cat "$p"; done
} | sha256sum | cut -c1-16)

dir=$cache/kernels/debug-$key
img=$dir/build/arch/x86/boot/bzImage
if [ -f "$dir/.complete" ] && [ -f "$img" ]; then
	log "cached: $dir ($srcpkg $srcver, ${#patches[@]} patches)"
	echo "$dir/build"
	exit 0
fi

start=$(date +%s)
log "building $srcpkg $srcver with ${#patches[@]} patches -> $dir (key $key)"
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
export KBUILD_BUILD_TIMESTAMP="$srcver" KBUILD_BUILD_USER=nlkit KBUILD_BUILD_HOST=nlkit
mk=(make -C "$dir/src" O="$dir/build" CC="ccache gcc" HOSTCC="ccache gcc" -j"$(nproc)")
"${mk[@]}" -s allnoconfig KCONFIG_ALLCONFIG="$here/debug.config" >&2

# Every line of the fragment must have survived (a typo or a missing dependency would
# silently drop an option).
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	name=${line%%=*} val=${line#*=}
	if [ "$val" = n ]; then
		grep -qE "^$name=" "$dir/build/.config" && { log "config: $name should be off"; bad=1; }
	else
		grep -qxF "$line" "$dir/build/.config" || { log "config: $line did not stick"; bad=1; }
	fi
done <"$here/debug.config"
[ "$bad" = 0 ] || { log "fix tests/kernel/debug.config"; exit 1; }

log "compiling (this takes a while on 2 cores; ccache makes rebuilds fast)"
"${mk[@]}" bzImage modules >"$dir/build.log" 2>&1 || { tail -40 "$dir/build.log" >&2; exit 1; }
touch "$dir/.complete"
log "built in $(( $(date +%s) - start )) s; ccache: $(ccache -s 2>/dev/null | grep -iE 'hits|misses' | tr -s ' ' | tr '\n' ' ')"
# keep the cache to the two newest debug kernels
ls -dt "$cache"/kernels/debug-* 2>/dev/null | tail -n +3 | xargs -r rm -rf
echo "$dir/build"
