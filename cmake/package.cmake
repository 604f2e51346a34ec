# Debian packages through CPack (`make deb`, `make deb ARCH=arm64`; the
# install components of cmake/install.cmake and each folder's install()):
#   sky               bin/sky and sky-run.service         (component cli)
#   sky-driver        bin/sky-driver and sky-driver.service (component driver)
#   libsky            libsky.so/.a, libskyframe.a, libskyrt.a, headers,
#                     pkg-config and CMake files            (component lib)
#   skyscreen-common  docs (/usr/share/doc/skyscreen), examples
#                     (/usr/share/skyscreen/examples), the skyscreen user
#                                                          (component common)
# sky-receive (component tools) is a test tool and goes in no package.
# Depends come from dpkg-shlibdeps on the binaries, plus what they load with
# dlopen (the Vulkan loader and a driver for it) and the common package.
# Cross builds (arm64) cannot run dpkg-shlibdeps against libraries that are
# unpacked, not installed: SKY_DEB_DEPENDS_FILE gives their Depends instead
# (scripts/deb-arm64-depends.sh writes it from the sysroot's shlibs files).
set(SKY_DEB_DEPENDS_FILE "" CACHE FILEPATH "Depends per package (cross builds), instead of dpkg-shlibdeps")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME skyscreen)
set(CPACK_PACKAGE_VENDOR "Skyscreen")
set(CPACK_PACKAGE_CONTACT "Skyscreen maintainers <skyscreen@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "LED pattern compiler, Vulkan renderer and LED driver")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL cli driver lib common)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
if(CMAKE_CROSSCOMPILING)
    if(NOT CPACK_DEBIAN_PACKAGE_ARCHITECTURE)
        string(REGEX REPLACE "-.*" "" SKY_DEB_CPU "${CMAKE_LIBRARY_ARCHITECTURE}")
        if(SKY_DEB_CPU STREQUAL "aarch64")
            set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
        else()
            set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${SKY_DEB_CPU})
        endif()
    endif()
else()
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()

set(CPACK_COMPONENT_CLI_DEPENDS common)
set(CPACK_COMPONENT_DRIVER_DEPENDS common)
set(CPACK_DEBIAN_CLI_PACKAGE_NAME sky)
set(CPACK_DEBIAN_DRIVER_PACKAGE_NAME sky-driver)
set(CPACK_DEBIAN_LIB_PACKAGE_NAME libsky)
set(CPACK_DEBIAN_COMMON_PACKAGE_NAME skyscreen-common)
set(CPACK_DEBIAN_COMMON_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_CLI_DESCRIPTION "Skyscreen: the sky command\n sky check/compile/run/preview/bench: compiles .sky LED patterns and renders them on a Vulkan device into the shared frame file, with the sky-run systemd unit.")
set(CPACK_DEBIAN_DRIVER_DESCRIPTION "Skyscreen: the LED driver\n sky-driver streams the frame file to LEDs and controllers (DDP, sACN, Art-Net, OPC, SPI), with the sky-driver systemd unit.")
set(CPACK_DEBIAN_LIB_DESCRIPTION "Skyscreen: libraries and headers\n libsky (the pattern compiler, shared and static), libskyframe and libskyrt (static), their headers, pkg-config and CMake files.")
set(CPACK_DEBIAN_COMMON_DESCRIPTION "Skyscreen: documentation, examples and the skyscreen user\n The docs in /usr/share/doc/skyscreen, example patterns and configs in /usr/share/skyscreen/examples, and the skyscreen system user the services run as.")

# What shlibdeps cannot see: sky opens the Vulkan loader with dlopen, and
# needs an implementation (Mesa's: lavapipe, v3dv on a Pi; or a GPU vendor's).
set(SKY_DEB_CLI_EXTRA "libvulkan1, mesa-vulkan-drivers | vulkan-icd")
set(SKY_DEB_COMMON_EXTRA "adduser")
# The static libraries' own dependencies (pkg-config's sky, sky-frame).
set(SKY_DEB_LIB_EXTRA "libjson-c-dev")
set(CPACK_DEBIAN_LIB_PACKAGE_SUGGESTS "libshaderc-dev, glslang-dev, spirv-tools, pkg-config")
foreach(comp CLI DRIVER LIB COMMON)
    set(CPACK_DEBIAN_${comp}_PACKAGE_DEPENDS "${SKY_DEB_${comp}_EXTRA}")
endforeach()
if(SKY_DEB_DEPENDS_FILE AND NOT EXISTS ${SKY_DEB_DEPENDS_FILE})
    message(FATAL_ERROR "SKY_DEB_DEPENDS_FILE ${SKY_DEB_DEPENDS_FILE} does not exist")
elseif(CMAKE_CROSSCOMPILING AND NOT SKY_DEB_DEPENDS_FILE)
    message(STATUS "Cross build without SKY_DEB_DEPENDS_FILE: its packages would lack library Depends (make deb ARCH=... writes it)")
endif()
if(SKY_DEB_DEPENDS_FILE)
    # Lines "COMPONENT: dep, dep": appended to that component's Depends.
    file(STRINGS ${SKY_DEB_DEPENDS_FILE} SKY_DEB_LINES)
    foreach(line IN LISTS SKY_DEB_LINES)
        if(line MATCHES "^([A-Z]+): (.+)$")
            if(CPACK_DEBIAN_${CMAKE_MATCH_1}_PACKAGE_DEPENDS)
                string(APPEND CPACK_DEBIAN_${CMAKE_MATCH_1}_PACKAGE_DEPENDS ", ")
            endif()
            string(APPEND CPACK_DEBIAN_${CMAKE_MATCH_1}_PACKAGE_DEPENDS "${CMAKE_MATCH_2}")
        endif()
    endforeach()
endif()

# Maintainer scripts: the user and /etc/skyscreen (common), a unit each (cli, driver).
set(CPACK_DEBIAN_COMMON_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/cmake/debian/common/postinst ${PROJECT_SOURCE_DIR}/cmake/debian/common/postrm)
foreach(pair "CLI;sky;sky-run.service" "DRIVER;sky-driver;sky-driver.service")
    list(GET pair 0 comp)
    list(GET pair 1 SKY_DEB_PACKAGE)
    list(GET pair 2 SKY_UNIT)
    set(scripts "")
    foreach(script postinst prerm postrm)
        configure_file(${PROJECT_SOURCE_DIR}/cmake/debian/unit-${script}.in
            ${PROJECT_BINARY_DIR}/debian/${SKY_DEB_PACKAGE}/${script} @ONLY
            FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                             WORLD_READ WORLD_EXECUTE)
        list(APPEND scripts ${PROJECT_BINARY_DIR}/debian/${SKY_DEB_PACKAGE}/${script})
    endforeach()
    set(CPACK_DEBIAN_${comp}_PACKAGE_CONTROL_EXTRA ${scripts})
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON) # RelWithDebInfo builds: the packages carry no debug info

include(CPack)
