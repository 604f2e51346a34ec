# Cross-compiling for arm64 (Raspberry Pi 4 with a 64-bit OS, Jetson) with
# Debian's cross toolchain (crossbuild-essential-arm64: aarch64-linux-gnu-gcc)
# against Debian's :arm64 libraries unpacked into a sysroot by
# scripts/arm64-sysroot.sh (why unpacked, not installed: that script).
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake \
#         -DSKY_ARM64_SYSROOT=$PWD/build-arm64-sysroot/root
# scripts/test-arm64.sh does all of it and runs the tests under qemu-aarch64.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(SKY_ARM64_SYSROOT "$ENV{SKY_ARM64_SYSROOT}" CACHE PATH "The arm64 sysroot (scripts/arm64-sysroot.sh)")
if(NOT SKY_ARM64_SYSROOT OR NOT EXISTS "${SKY_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu")
    message(FATAL_ERROR "SKY_ARM64_SYSROOT (${SKY_ARM64_SYSROOT}) is not an arm64 sysroot: "
                        "make one with scripts/arm64-sysroot.sh DIR and pass -DSKY_ARM64_SYSROOT=DIR/root")
endif()
# try_compile projects see the same sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SKY_ARM64_SYSROOT)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_SYSROOT ${SKY_ARM64_SYSROOT})
# The programs of the build (glslangValidator) are the host's; libraries,
# headers and packages only from the sysroot.
set(CMAKE_FIND_ROOT_PATH ${SKY_ARM64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# The binutils that match (ld -r and objcopy --localize-hidden make libsky.a).
set(CMAKE_LINKER aarch64-linux-gnu-ld)
set(CMAKE_OBJCOPY aarch64-linux-gnu-objcopy)
set(CMAKE_AR aarch64-linux-gnu-ar)
set(CMAKE_RANLIB aarch64-linux-gnu-ranlib)
set(CMAKE_STRIP aarch64-linux-gnu-strip)

# pkg-config: the sysroot's .pc files only, their paths prefixed with it.
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${SKY_ARM64_SYSROOT})
set(ENV{PKG_CONFIG_LIBDIR}
    "${SKY_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${SKY_ARM64_SYSROOT}/usr/share/pkgconfig")

# Tests run under qemu-user (ctest prefixes every test's program with it).
find_program(SKY_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(SKY_QEMU_AARCH64)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${SKY_QEMU_AARCH64} -L ${SKY_ARM64_SYSROOT})
endif()
