# One executable per <dir>/handover-*.c, named after the file, linked with libhandover.
# Programs are thin (flags, wiring, main loop); their logic lives in lib/.
# `cmake --install` puts them in <prefix>/bin (the deploy/ recipes use /usr/local/bin).
function(ho_add_programs dir)
  file(GLOB progs CONFIGURE_DEPENDS ${dir}/handover-*.c)
  foreach(src IN LISTS progs)
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_link_libraries(${name} PRIVATE handover)
    ho_target_defaults(${name})
    install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endforeach()
endfunction()
