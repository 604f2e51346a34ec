/*
 * version.c - sky_version and sky_version_number: the version of the libsky
 * that runs, which an embedder compares with the SKY_VERSION_* of the header
 * it compiled against (a libsky.so may be newer than the program).
 *
 * The build passes CMake's project version (SKY_PROJECT_VERSION_*); the header
 * must state the same one, or this file does not compile.
 */
#include "sky/sky.h"

#if SKY_VERSION_MAJOR != SKY_PROJECT_VERSION_MAJOR || SKY_VERSION_MINOR != SKY_PROJECT_VERSION_MINOR || \
    SKY_VERSION_PATCH != SKY_PROJECT_VERSION_PATCH
#error "sky/sky.h's SKY_VERSION_* differ from the project version in CMakeLists.txt"
#endif

const char *sky_version(void) {
    return SKY_VERSION_STRING;
}

int sky_version_number(void) {
    return SKY_VERSION_NUMBER;
}
