# Cross-building libcolo and colo.exe for 64-bit Windows with Debian's
# mingw-w64 (gcc-mingw-w64-x86-64), and running what was built under Wine:
#
#   cmake -S . -B build/win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake
#
# `make test-win` does this, with one Wine prefix per build tree.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(COLO_MINGW_TRIPLE x86_64-w64-mingw32)

find_program(CMAKE_C_COMPILER NAMES ${COLO_MINGW_TRIPLE}-gcc-win32 ${COLO_MINGW_TRIPLE}-gcc REQUIRED)
find_program(CMAKE_RC_COMPILER NAMES ${COLO_MINGW_TRIPLE}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${COLO_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The executables carry libgcc and winpthreads in them; colo.dll is beside
# colo.exe, where Windows looks first.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc")

# ctest runs every test through Wine (which needs nothing but a prefix: no
# display for console programs).
find_program(COLO_WINE NAMES wine wine64)
if(COLO_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${COLO_WINE})
endif()
