# Installs libsky for embedders: the static and the shared library, the public
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
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/sky/sky.h ${PROJECT_SOURCE_DIR}/include/sky/status.h
              ${PROJECT_SOURCE_DIR}/include/sky/export.h ${PROJECT_SOURCE_DIR}/include/sky/abi.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sky)
install(EXPORT SkyTargets NAMESPACE Sky:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Sky)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/SkyConfig.cmake.in
    ${PROJECT_BINARY_DIR}/SkyConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Sky)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SkyConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/SkyConfig.cmake ${PROJECT_BINARY_DIR}/SkyConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Sky)

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
install(FILES ${PROJECT_BINARY_DIR}/sky.pc ${PROJECT_BINARY_DIR}/sky-shared.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The documentation: CMAKE_INSTALL_DOCDIR is share/doc/skyscreen (the project's name).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md")
