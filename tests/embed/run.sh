#!/bin/sh
# run.sh BUILD_DIR EMBED_SRC WORK - installs the build into WORK/prefix and
# builds tests/embed/hello.c against it three ways: CMake's colo::colo and
# colo::colo_static, and pkg-config (shared). Each must print "hello".
set -eu
build=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

check() { # NAME COMMAND...
  name=$1; shift
  out=$("$@" "shm://embed.$$.$name")
  [ "$out" = hello ] || { echo "embed: $name printed '$out'" >&2; exit 1; }
  echo "embed: $name ok"
}

cmake -S "$src" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
check cmake-shared "$work/cmake/hello_shared"
check cmake-static "$work/cmake/hello_static"

libdir=$(dirname "$(find "$prefix" -name colo.pc | head -n 1)")/..
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -std=c11 -Wall -Werror "$src/hello.c" $(pkg-config --cflags --libs colo) -o "$work/hello_pc"
LD_LIBRARY_PATH=$libdir check pkg-config "$work/hello_pc"
# A static link needs what Libs.private lists.
pkg-config --static --libs colo | grep -q -- -pthread || { echo "embed: Libs.private lacks -pthread" >&2; exit 1; }
