#!/usr/bin/env bash
# The consumer test: qwire as its users get it. Installs the build into a temporary folder, then
# builds examples/ three ways: g++ with pkg-config, a CMake project with find_package(qwire), a
# meson project with qwire as a subproject; and runs one of the programs against a real QEMU.
#
#   consumer_test.sh SOURCE_ROOT BUILD_ROOT EXPECTED_CMAKE_TARGETS
#
# One result line per step ("consumer<TAB>passed|failed|skipped<TAB>step") is appended to
# $QWIRE_RESULTS_FILE; a missing tool is a skip, or a failure when CI is set. Exits non-zero
# when a step failed.
set -uo pipefail

src="$1" build="$2" cmake_targets="$3"
work="$(mktemp -d "${TMPDIR:-/tmp}/qwire-consumer.XXXXXX")"
qemu_pid=""
cleanup() {
    [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

failures=0
report() {  # STATUS STEP [DETAIL]
    printf '%-7s %s%s\n' "$1" "$2" "${3:+: $3}"
    [ -n "${QWIRE_RESULTS_FILE:-}" ] && printf 'consumer\t%s\t%s\n' "$1" "$2" >>"$QWIRE_RESULTS_FILE"
    [ "$1" = failed ] && failures=$((failures + 1))
    return 0
}
missing() {  # STEP WHAT
    if [ -n "${CI:-}" ]; then report failed "$1" "$2 is missing (CI is set, so this may not skip)"
    else report skipped "$1" "$2 is missing"; fi
}
run_logged() {  # LOG COMMAND...: runs quietly; prints the log when the command fails
    "${@:2}" >"$1" 2>&1 || { cat "$1"; return 1; }
}

# 1. Install. The prefix is the build's (e.g. /usr/local) under a temporary DESTDIR.
prefix="$(meson introspect "$build" --buildoptions |
          python3 -c 'import json,sys; o={x["name"]: x["value"] for x in json.load(sys.stdin)}; print(o["prefix"] + "\t" + o["libdir"])')"
libdir="${prefix#*$'\t'}"; prefix="${prefix%$'\t'*}"
root="$work/dest$prefix"
if run_logged "$work/install.log" meson install -C "$build" --destdir "$work/dest" --no-rebuild; then
    lib="$root/$libdir"
    problems=()
    for f in bin/qwire share/man/man1/qwire.1 include/qwire/version.hpp include/qwire/export.hpp \
             include/qwire/sync_client.hpp "$libdir/libqwire.a" "$libdir/libqwire_epoll.a" \
             "$libdir/libqwire_sync.a" "$libdir/pkgconfig/qwire.pc" \
             "$libdir/pkgconfig/qwire-epoll.pc" "$libdir/cmake/qwire/qwireConfig.cmake" \
             "$libdir/cmake/qwire/qwireConfigVersion.cmake"; do
        [ -e "$root/$f" ] || problems+=("$f not installed")
    done
    soname="$(readelf -d "$lib/libqwire.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
    [ "$soname" = "libqwire.so.$(meson introspect "$build" --projectinfo | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"].split(".")[0])')" ] ||
        problems+=("libqwire.so has SONAME '$soname'")
    # Each shared library exports its API only: LIBRARY, A SYMBOL OF ITS API, A PATTERN OF INTERNALS.
    while read -r so api internal; do
        [ -e "$lib/$so" ] || continue  # libqwire_qt.so when built without Qt
        exported="$(nm -DC --defined-only "$lib/$so")"
        grep -q "$api" <<<"$exported" || problems+=("$so does not export $api")
        ! grep -q "$internal" <<<"$exported" || problems+=("$so exports internals ($internal)")
    done <<'LIBS'
libqwire.so qwire::qmp::client::execute qwire::engine\|output_queue
libqwire_epoll.so qwire::epoll::loop::create expected_storage_base<sockaddr_un
libqwire_sync.so qwire::sync_client::connect ^[0-9a-f]*.[A-Za-z].qwire::sync_detail
libqwire_qt.so qwire::qt::QmpConnection::execute qwire::qmp::exec_options::~exec_options
LIBS
    if [ ${#problems[@]} -eq 0 ]; then report passed "meson install" "$prefix in $work/dest"
    else report failed "meson install" "${problems[*]}"; fi
else
    report failed "meson install" "see the log above"
    exit 1
fi
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# 2. g++ with pkg-config. The .pc files name the build's prefix, so point it into the DESTDIR.
if ! command -v pkg-config >/dev/null; then missing "g++ with pkg-config" pkg-config
else
    mkdir -p "$work/gxx"
    pc() { PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config --define-variable=prefix="$root" --cflags --libs "$1"; }
    flags="$(pc qwire-epoll)" &&
    run_logged "$work/gxx.log" g++ -o "$work/gxx/vm_status" "$src/examples/vm_status.cpp" $flags &&
    flags="$(pc qwire)" &&
    run_logged "$work/gxx.log" g++ -o "$work/gxx/frame_dump" "$src/examples/frame_dump.cpp" $flags &&
    report passed "g++ with pkg-config" || report failed "g++ with pkg-config"
fi

# 3. CMake with find_package(qwire).
if ! command -v cmake >/dev/null; then missing "cmake find_package" cmake
else
    run_logged "$work/cmake.log" cmake -S "$src/tests/packaging/cmake" -B "$work/cmake" -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_PREFIX_PATH="$root" -DQWIRE_EXAMPLES="$src/examples" -DQWIRE_EXPECTED_TARGETS="$cmake_targets" &&
    run_logged "$work/cmake.log" cmake --build "$work/cmake" &&
    report passed "cmake find_package" || report failed "cmake find_package"
fi

# 4. meson with qwire as a subproject (built from the source tree, unoptimised to be quick).
mkdir -p "$work/meson/subprojects"
cp "$src/tests/packaging/subproject/meson.build" "$src/tests/packaging/subproject/meson_options.txt" "$work/meson/"
ln -s "$src" "$work/meson/subprojects/qwire"
run_logged "$work/meson.log" meson setup "$work/meson/build" "$work/meson" --buildtype=debug \
    --force-fallback-for=qwire,qwire-epoll -Dexamples_dir="$src/examples" &&
run_logged "$work/meson.log" ninja -C "$work/meson/build" vm_status frame_dump &&
report passed "meson subproject" || report failed "meson subproject"

# 5. The CMake-built vm_status against a real QEMU.
qemu="$(command -v qemu-system-x86_64)"
if [ -z "$qemu" ]; then missing "vm_status against QEMU" qemu-system-x86_64
elif [ ! -x "$work/cmake/vm_status" ]; then report failed "vm_status against QEMU" "the CMake build made no vm_status"
else
    "$qemu" -machine none -nodefaults -display none -no-user-config -S \
        -qmp "unix:$work/qmp.sock,server=on,wait=off" >"$work/qemu.log" 2>&1 &
    qemu_pid=$!
    for _ in $(seq 100); do [ -S "$work/qmp.sock" ] && break; sleep 0.1; done
    if out="$("$work/cmake/vm_status" "$work/qmp.sock" 2>&1)" && [[ "$out" == *"status prelaunch"* ]]; then
        report passed "vm_status against QEMU" "$out"
    else
        cat "$work/qemu.log"
        report failed "vm_status against QEMU" "$out"
    fi
fi

[ "$failures" -eq 0 ]
