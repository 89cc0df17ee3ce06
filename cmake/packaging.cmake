# cmake/packaging.cmake: install rules for what surrounds the binary (systemd unit, system
# user, state directory, man page, operations guide, /etc config) and CPack for a Debian 12
# .deb. Included at the end of the top-level CMakeLists.txt.
#
# Installed elsewhere, not here: the binary (cli/CMakeLists.txt, bin) and the example
# config (top level, ${CMAKE_INSTALL_DOCDIR}/examples).
#
# Where things go depends on the install prefix, decided at install time because
# `cmake --install --prefix P` and CPack choose it after configuring:
#   prefix /usr (the .deb):   /lib/systemd/system/servicedesk.service, ExecStart=/usr/bin/...,
#                             /etc/servicedesk/servicedesk.toml, 0640 (a dpkg conffile; postinst
#                             makes it root:servicedesk)
#   any other prefix P:       P/lib/systemd/system/servicedesk.service with ExecStart
#                             rewritten to P/bin/servicedesk; no file in /etc (copy the example)
# An existing /etc/servicedesk/servicedesk.toml is never overwritten by `cmake --install`.
#
# Tests (when BUILD_TESTING): systemd_unit_verify, packaging_deb, manpage_subcommands; see
# tests/packaging/check_packaging.sh. include_roots: tests/packaging/check_includes.py.

include(GNUInstallDirs)

# The man page, compressed as Debian policy wants it; gzip -n keeps the .deb reproducible.
set(SD_MANPAGE_GZ ${CMAKE_BINARY_DIR}/docs/servicedesk.1.gz)
add_custom_command(
  OUTPUT ${SD_MANPAGE_GZ}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/docs
  COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/docs/servicedesk.1 > ${SD_MANPAGE_GZ}
  DEPENDS ${PROJECT_SOURCE_DIR}/docs/servicedesk.1
  COMMENT "Compressing the man page"
  VERBATIM)
add_custom_target(sd_manpage ALL DEPENDS ${SD_MANPAGE_GZ})
install(FILES ${SD_MANPAGE_GZ} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES docs/operations.md docs/portal.md DESTINATION ${CMAKE_INSTALL_DOCDIR})  # the units' Documentation=
# The man page points at these for how reports and SLA figures are computed.
foreach(doc reports.md sla.md)
  if(EXISTS ${PROJECT_SOURCE_DIR}/docs/${doc})
    install(FILES docs/${doc} DESTINATION ${CMAKE_INSTALL_DOCDIR})
  endif()
endforeach()

# sysusers.d and tmpfiles.d live under lib/ (not the multiarch libdir) below any prefix;
# systemd reads /usr/lib/... and /usr/local/lib/... alike.
install(FILES systemd/servicedesk.sysusers DESTINATION lib/sysusers.d RENAME servicedesk.conf)
install(FILES systemd/servicedesk.tmpfiles DESTINATION lib/tmpfiles.d RENAME servicedesk.conf)

# The unit and the /etc config: their place depends on the prefix, known only now.
# file(INSTALL) adds $DESTDIR itself and records the files in install_manifest.txt.
install(CODE "set(SD_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
set(SD_STAGING_DIR \"${CMAKE_BINARY_DIR}/packaging\")
set(SD_BINDIR \"${CMAKE_INSTALL_BINDIR}\")")
install(CODE [[
  foreach(_name servicedesk.service servicedesk-portal.service)
    set(_unit_in "${SD_SOURCE_DIR}/systemd/${_name}")
    if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
      set(_unitdir "/lib/systemd/system")
      set(_unit "${_unit_in}")
    else()
      set(_unitdir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
      if(IS_ABSOLUTE "${SD_BINDIR}")
        set(_bin "${SD_BINDIR}/servicedesk")
      else()
        set(_bin "${CMAKE_INSTALL_PREFIX}/${SD_BINDIR}/servicedesk")
      endif()
      file(READ "${_unit_in}" _text)
      string(REPLACE "ExecStart=/usr/bin/servicedesk " "ExecStart=${_bin} " _text "${_text}")
      set(_unit "${SD_STAGING_DIR}/${_name}")
      file(WRITE "${_unit}" "${_text}")
    endif()
    file(INSTALL DESTINATION "${_unitdir}" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
         FILES "${_unit}")
  endforeach()

  # 0640: `servicedesk run` refuses a config others may read or change. The group is made
  # servicedesk after the user exists (postinst: dpkg-statoverride; by hand otherwise).
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    if(EXISTS "$ENV{DESTDIR}/etc/servicedesk/servicedesk.toml")
      message(STATUS "Keeping existing: $ENV{DESTDIR}/etc/servicedesk/servicedesk.toml")
    else()
      file(INSTALL DESTINATION "/etc/servicedesk" TYPE FILE RENAME servicedesk.toml
           PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
           FILES "${SD_SOURCE_DIR}/config/servicedesk.example.toml")
    endif()
  endif()
]])

# --- CPack: one .deb for Debian 12 ----------------------------------------------------

# Maintainer scripts. The service is not enabled or started on install: it needs the
# IMAP password and a real config first (docs/operations.md). An upgrade restarts a
# running service, which migrates the store's schema at start.
set(SD_DEB_CONTROL_DIR ${CMAKE_BINARY_DIR}/packaging/deb)
file(MAKE_DIRECTORY ${SD_DEB_CONTROL_DIR})
file(WRITE ${SD_DEB_CONTROL_DIR}/conffiles "/etc/servicedesk/servicedesk.toml\n")
file(WRITE ${SD_DEB_CONTROL_DIR}/postinst [[#!/bin/sh
# servicedesk postinst: the system user, the state directory, systemd's view of the unit.
set -e
if [ "$1" = configure ]; then
  if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers servicedesk.conf
  elif ! getent passwd servicedesk >/dev/null; then
    adduser --system --group --home /var/lib/servicedesk --no-create-home servicedesk
  fi
  # The daemon refuses a config others may read; its group lets the daemon, the MTA pipe
  # and operators (sudo -u servicedesk) read it. dpkg keeps the override across upgrades.
  if ! dpkg-statoverride --list /etc/servicedesk/servicedesk.toml >/dev/null 2>&1; then
    dpkg-statoverride --update --add root servicedesk 0640 /etc/servicedesk/servicedesk.toml
  fi
  if command -v systemd-tmpfiles >/dev/null 2>&1; then
    systemd-tmpfiles --create servicedesk.conf
  else
    install -d -m 0750 -o servicedesk -g servicedesk /var/lib/servicedesk
  fi
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
    # $2 is the version upgraded from: restart only what was running.
    if [ -n "$2" ]; then
      systemctl try-restart servicedesk.service || true
    fi
  fi
fi
exit 0
]])
file(WRITE ${SD_DEB_CONTROL_DIR}/prerm [[#!/bin/sh
# servicedesk prerm: stop the daemon when the package goes away (not on upgrade: postinst
# restarts it on the new binary).
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop servicedesk.service || true
fi
exit 0
]])
file(WRITE ${SD_DEB_CONTROL_DIR}/postrm [[#!/bin/sh
# servicedesk postrm: forget the unit. The store in /var/lib/servicedesk and the user stay,
# also on purge: the store holds every ticket and customer mail; delete it by hand.
set -e
if [ "$1" = purge ] && dpkg-statoverride --list /etc/servicedesk/servicedesk.toml >/dev/null 2>&1; then
  dpkg-statoverride --remove /etc/servicedesk/servicedesk.toml
fi
if [ "$1" = remove ] || [ "$1" = purge ]; then
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
  fi
fi
exit 0
]])

set(SD_PACKAGE_MAINTAINER "servicedesk maintainers <servicedesk@example.com>"
    CACHE STRING "Maintainer field of the .deb")

set(CPACK_PACKAGE_NAME servicedesk)
set(CPACK_PACKAGE_VENDOR servicedesk)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SD_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "email service desk daemon: IMAP mailbox to tickets with SLAs")
set(CPACK_PACKAGE_DESCRIPTION
    "servicedesk fetches a service desk mailbox over IMAP, turns each mail into a ticket stored
in SQLite, acknowledges it with the ticket's id, threads replies onto their ticket and
tracks first-response and resolution targets in business hours. Runs under systemd as
servicedesk.service.")
set(CPACK_GENERATOR DEB)
set(CPACK_SOURCE_GENERATOR "")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# DESTDIR staging keeps CMAKE_INSTALL_PREFIX at /usr during CPack's install, so the rules
# above pick the Debian places (/lib/systemd/system, /etc) and land inside the package.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)

set(CPACK_DEBIAN_PACKAGE_NAME servicedesk)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SD_PACKAGE_MAINTAINER}")
# Shared-library dependencies come from dpkg-shlibdeps (Debian's own names and minimum
# versions: libc6, libcurl4, libdate-tz3, libfmt9, libsqlite3-0, libssl3, libstdc++6,
# libtomlplusplus3, libxml2, ...). Listed here: what is read at run time, not linked.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "tzdata")                 # business calendars' time zones
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates, systemd, sqlite3")  # TLS, the unit, backups
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${SD_DEB_CONTROL_DIR}/conffiles;${SD_DEB_CONTROL_DIR}/postinst;${SD_DEB_CONTROL_DIR}/prerm;${SD_DEB_CONTROL_DIR}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

# --- Tests -----------------------------------------------------------------------------
if(BUILD_TESTING)
  set(_sd_check ${PROJECT_SOURCE_DIR}/tests/packaging/check_packaging.sh)
  add_test(NAME systemd_unit_verify
           COMMAND ${_sd_check} unit ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR} $<TARGET_FILE:servicedesk>)
  # A sanitizer build is no package anyone ships; its .deb would depend on libasan.
  if(NOT SD_SANITIZE)
    add_test(NAME packaging_deb
             COMMAND ${_sd_check} deb ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR} $<TARGET_FILE:servicedesk>)
    set_tests_properties(packaging_deb PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77 LABELS packaging)
  endif()
  add_test(NAME manpage_subcommands
           COMMAND ${_sd_check} manpage ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR} $<TARGET_FILE:servicedesk>)
  # 77: a tool is missing on this machine (systemd-analyze, dpkg-deb, cpack).
  set_tests_properties(systemd_unit_verify manpage_subcommands PROPERTIES SKIP_RETURN_CODE 77 LABELS packaging)
  # Includes against the folder table of docs/ARCHITECTURE.md, and the check's self-test.
  add_test(NAME include_roots COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/packaging/check_includes.py ${PROJECT_SOURCE_DIR})
  add_test(NAME include_roots_selftest COMMAND /usr/bin/python3 -m unittest -v test_check_includes
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/packaging)
  set_tests_properties(include_roots include_roots_selftest PROPERTIES
    ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1" TIMEOUT 60 LABELS packaging)
endif()
