# install_etc.cmake - runs inside `cmake --install` (and cpack): installs
# the example configuration and the unit file. The configuration folder is
# GNUInstallDirs' SYSCONFDIR worked out for the prefix of this install, not
# the one configured: /usr and / give /etc, /opt/X gives /etc/opt/X, any
# other prefix PREFIX/etc; an absolute CMAKE_INSTALL_SYSCONFDIR is taken as
# it is. The unit file's /usr/sbin/ and /etc/imc-connector/ become the
# folders of this install. Set before: IMC_SYSCONFDIR, IMC_SBINDIR,
# IMC_EXAMPLE, IMC_UNIT, IMC_UNIT_OUT.
if(IS_ABSOLUTE "${IMC_SYSCONFDIR}")
  set(etc "${IMC_SYSCONFDIR}")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr" OR CMAKE_INSTALL_PREFIX STREQUAL "/")
  set(etc "/${IMC_SYSCONFDIR}")
elseif(CMAKE_INSTALL_PREFIX MATCHES "^/opt/(.+)$")
  set(etc "/${IMC_SYSCONFDIR}/opt/${CMAKE_MATCH_1}")
else()
  set(etc "${CMAKE_INSTALL_PREFIX}/${IMC_SYSCONFDIR}")
endif()
if(IS_ABSOLUTE "${IMC_SBINDIR}")
  set(sbin "${IMC_SBINDIR}")
else()
  set(sbin "${CMAKE_INSTALL_PREFIX}/${IMC_SBINDIR}")
endif()
string(REGEX REPLACE "//+" "/" etc "${etc}")
string(REGEX REPLACE "//+" "/" sbin "${sbin}")

file(INSTALL DESTINATION "${etc}/imc-connector" TYPE FILE
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
  RENAME imc.conf FILES "${IMC_EXAMPLE}")

file(READ "${IMC_UNIT}" unit)
string(REPLACE "/usr/sbin/" "${sbin}/" unit "${unit}")
string(REPLACE "/etc/imc-connector/" "${etc}/imc-connector/" unit "${unit}")
get_filename_component(unit_dir "${IMC_UNIT_OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${unit_dir}")
file(WRITE "${IMC_UNIT_OUT}" "${unit}")
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system"
  TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
  FILES "${IMC_UNIT_OUT}")
