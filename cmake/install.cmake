# Installs libsky for embedders (component lib, the libsky package): the static and the shared library, the public
# headers, pkg-config files (sky: static, sky-shared) and a CMake package
# (find_package(Sky) -> Sky::sky, static, and Sky::sky_shared); and
# the documentation, docs/*.md, into share/doc/skyscreen, where the systemd
# units' Documentation= points (examples/systemd; the sky and sky-driver
# programs install from cli/ and driver/).
# The static libsky needs shaderc, glslang and SPIRV-Tools as Debian's static
# archives (the shared libshaderc is under-linked on Debian 12), so both its
# pkg-config file and its exported target name them; libsky.so has them inside.
include(CMakePackageConfigHelpers)

install(TARGETS sky_static sky_shared EXPORT SkyTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/sky/sky.h ${PROJECT_SOURCE_DIR}/include/sky/status.h
              ${PROJECT_SOURCE_DIR}/include/sky/export.h ${PROJECT_SOURCE_DIR}/include/sky/abi.h
              ${PROJECT_SOURCE_DIR}/include/sky/frame.h ${PROJECT_SOURCE_DIR}/include/sky/layout.h
              ${PROJECT_SOURCE_DIR}/include/sky/runtime.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sky COMPONENT lib)
install(EXPORT SkyTargets NAMESPACE Sky:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Sky COMPONENT lib)

# The frame file and layouts (libskyframe.a, sky/frame.h, sky/layout.h) and the
# Vulkan runtime (libskyrt.a, sky/runtime.h), static, through pkg-config only
# (sky-frame, sky-runtime): libskyrt calls libsky's public API alone, so it
# links libsky.so; libskyframe needs json-c.
install(TARGETS skyframe skyrt ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/SkyConfig.cmake.in
    ${PROJECT_BINARY_DIR}/SkyConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Sky)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SkyConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/SkyConfig.cmake ${PROJECT_BINARY_DIR}/SkyConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Sky COMPONENT lib)

# pkg-config: the same archives, grouped because glslang's libraries refer to each other.
set(SKY_PC_LIBS "-Wl,--start-group")
foreach(path IN LISTS SKY_SHADERC_PATHS)
    get_filename_component(archive ${path} NAME)
    string(APPEND SKY_PC_LIBS " -l:${archive}")
endforeach()
string(APPEND SKY_PC_LIBS " -Wl,--end-group -lstdc++ -lpthread -lm")
# Relocatable: the prefix is found from the .pc file's own place, so
# `cmake --install build --prefix ANYWHERE` works.
file(RELATIVE_PATH SKY_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
configure_file(${PROJECT_SOURCE_DIR}/cmake/sky.pc.in ${PROJECT_BINARY_DIR}/sky.pc @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/sky-shared.pc.in ${PROJECT_BINARY_DIR}/sky-shared.pc @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/sky-frame.pc.in ${PROJECT_BINARY_DIR}/sky-frame.pc @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/sky-runtime.pc.in ${PROJECT_BINARY_DIR}/sky-runtime.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sky.pc ${PROJECT_BINARY_DIR}/sky-shared.pc
              ${PROJECT_BINARY_DIR}/sky-frame.pc ${PROJECT_BINARY_DIR}/sky-runtime.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT lib)

# The documentation: CMAKE_INSTALL_DOCDIR is share/doc/skyscreen (the project's name).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        COMPONENT common FILES_MATCHING PATTERN "*.md")

# The examples, for users to copy: patterns, maps, driver configs, the embed
# and Python readers (the systemd units install as units, below).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DATADIR}/skyscreen/examples
        COMPONENT common PATTERN systemd EXCLUDE)

# The systemd units, with the /usr/local paths of examples/systemd made this
# prefix's (systemd reads lib/systemd/system under /usr and /usr/local both),
# and the skyscreen user for systemd-sysusers (the packages' postinst).
foreach(unit sky-run sky-driver)
    file(READ ${PROJECT_SOURCE_DIR}/examples/systemd/${unit}.service SKY_UNIT_TEXT)
    string(REPLACE "/usr/local/" "${CMAKE_INSTALL_PREFIX}/" SKY_UNIT_TEXT "${SKY_UNIT_TEXT}")
    file(WRITE ${PROJECT_BINARY_DIR}/systemd/${unit}.service "${SKY_UNIT_TEXT}")
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/examples/systemd/sky-run.service ${PROJECT_SOURCE_DIR}/examples/systemd/sky-driver.service)
install(FILES ${PROJECT_BINARY_DIR}/systemd/sky-run.service DESTINATION lib/systemd/system COMPONENT cli)
install(FILES ${PROJECT_BINARY_DIR}/systemd/sky-driver.service DESTINATION lib/systemd/system COMPONENT driver)
install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/skyscreen-sysusers.conf DESTINATION lib/sysusers.d
        RENAME skyscreen.conf COMPONENT common)
