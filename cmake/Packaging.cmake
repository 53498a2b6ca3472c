# Install rules and the two Debian packages (scripts/package runs cpack on a build made with
# them): ferry-agent (ferry-agent, ferry-supervise beside it, its unit and config) and
# ferry-server (ferry-server, the `ferry` client, its unit and config). The maintainer scripts
# and the files Debian asks for are in packaging/; docs/operations.md, "Packages", says what
# each script does.
include(GNUInstallDirs)

set(FERRY_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)
set(FERRY_PACKAGING_STAGE ${PROJECT_BINARY_DIR}/packaging)

# What Debian keeps compressed (man pages, the changelog), made reproducibly at configure time.
function(ferry_gzip source target)
  add_custom_command(
    OUTPUT ${target}
    COMMAND gzip -9nc ${source} > ${target}
    DEPENDS ${source}
    VERBATIM)
endfunction()

set(_ferry_gz_outputs)
foreach(page ferry-agent.8 ferry-supervise.8 ferry-server.8 ferry.1)
  ferry_gzip(${FERRY_PACKAGING_DIR}/man/${page} ${FERRY_PACKAGING_STAGE}/${page}.gz)
  list(APPEND _ferry_gz_outputs ${FERRY_PACKAGING_STAGE}/${page}.gz)
endforeach()
ferry_gzip(${FERRY_PACKAGING_DIR}/changelog ${FERRY_PACKAGING_STAGE}/changelog.Debian.gz)
list(APPEND _ferry_gz_outputs ${FERRY_PACKAGING_STAGE}/changelog.Debian.gz)
add_custom_target(ferry_packaging_files ALL DEPENDS ${_ferry_gz_outputs})

set(_ferry_sysconf /etc/ferry)
set(_ferry_unit_dir /lib/systemd/system)
set(_ferry_read_only OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

install(TARGETS ferry-agent ferry-supervise RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/ferry-agent.service DESTINATION ${_ferry_unit_dir}
        PERMISSIONS ${_ferry_read_only} COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/config/ferry-agent.json DESTINATION ${_ferry_sysconf}
        PERMISSIONS ${_ferry_read_only} COMPONENT agent)
install(FILES ${FERRY_PACKAGING_STAGE}/ferry-agent.8.gz ${FERRY_PACKAGING_STAGE}/ferry-supervise.8.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 PERMISSIONS ${_ferry_read_only} COMPONENT agent)

install(TARGETS ferry-server ferry RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/ferry-server.service DESTINATION ${_ferry_unit_dir}
        PERMISSIONS ${_ferry_read_only} COMPONENT server)
install(FILES ${PROJECT_SOURCE_DIR}/config/ferry-server.json DESTINATION ${_ferry_sysconf}
        PERMISSIONS ${_ferry_read_only} COMPONENT server)
install(FILES ${FERRY_PACKAGING_STAGE}/ferry-server.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8
        PERMISSIONS ${_ferry_read_only} COMPONENT server)
install(FILES ${FERRY_PACKAGING_STAGE}/ferry.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        PERMISSIONS ${_ferry_read_only} COMPONENT server)

foreach(component agent server)
  set(doc ${CMAKE_INSTALL_DATAROOTDIR}/doc/ferry-${component})
  install(FILES ${FERRY_PACKAGING_DIR}/copyright ${FERRY_PACKAGING_STAGE}/changelog.Debian.gz
          DESTINATION ${doc} PERMISSIONS ${_ferry_read_only} COMPONENT ${component})
  install(FILES ${FERRY_PACKAGING_DIR}/lintian/ferry-${component}
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides
          PERMISSIONS ${_ferry_read_only} COMPONENT ${component})
  install(FILES ${PROJECT_SOURCE_DIR}/docs/operations.md ${PROJECT_SOURCE_DIR}/docs/configuration.md
          DESTINATION ${doc} PERMISSIONS ${_ferry_read_only} COMPONENT ${component})
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/docs/protocol.md ${PROJECT_SOURCE_DIR}/docs/schedules.md
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/ferry-server
        PERMISSIONS ${_ferry_read_only} COMPONENT server)

# --- CPack: one .deb per component ----------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ferry)
set(CPACK_PACKAGE_VENDOR "Ferry")
set(CPACK_PACKAGE_CONTACT "Ferry maintainers <maintainers@ferry.invalid>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Each package's description starts with its own summary line (CPACK_DEBIAN_*_DESCRIPTION);
# an empty project summary keeps CPack from putting the project's in front of it.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent server)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://ferry.invalid/")

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME ferry-agent)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "init-system-helpers (>= 1.54~)")
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "libcurl4")  # loaded for bucket uploads only
set(CPACK_DEBIAN_AGENT_DESCRIPTION
    "run-command agent for a fleet of machines
ferry-agent runs the commands that ferry-server dispatches to this machine:
as the requested user, in the requested directory, with a timeout that kills
the whole process tree. Output goes to an S3-compatible store; every result
is journaled so that none is lost across restarts, upgrades and reboots.")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    ${FERRY_PACKAGING_DIR}/deb/ferry-agent/conffiles
    ${FERRY_PACKAGING_DIR}/deb/ferry-agent/postinst
    ${FERRY_PACKAGING_DIR}/deb/ferry-agent/prerm
    ${FERRY_PACKAGING_DIR}/deb/ferry-agent/postrm)
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_SERVER_PACKAGE_NAME ferry-server)
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS "adduser, init-system-helpers (>= 1.54~)")
set(CPACK_DEBIAN_SERVER_DESCRIPTION
    "control plane for ferry-agent with the TAT and Cloud Assistant APIs
ferry-server dispatches commands to ferry-agent on every machine of a fleet.
It speaks the Tencent Cloud TAT API and the Alibaba Cloud Assistant API, so
that their official SDKs work against it unchanged, and keeps its state in
SQLite. The package also holds ferry, the command-line client.")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
    ${FERRY_PACKAGING_DIR}/deb/ferry-server/conffiles
    ${FERRY_PACKAGING_DIR}/deb/ferry-server/postinst
    ${FERRY_PACKAGING_DIR}/deb/ferry-server/prerm
    ${FERRY_PACKAGING_DIR}/deb/ferry-server/postrm)
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
