# ho_target_defaults(TARGET): the compile and link options every handover target is built with,
# set on the target (nothing global, so a project that adds handover as a subdirectory keeps its
# own flags). Every add_executable/add_library in the tree calls it.
#   warnings: -Wall -Wextra -Wshadow -Wstrict-prototypes (-Werror with HO_WERROR)
#   HO_SANITIZE: ASan + UBSan; HO_FUZZ: libFuzzer coverage instrumentation + ASan + UBSan
#   the POSIX feature macros the sources are written against, and the versions (HO_VERSION,
#   HO_AVRO_VERSION: the avro-c pkg-config found)
function(ho_target_defaults tgt)
  target_compile_definitions(${tgt} PRIVATE _POSIX_C_SOURCE=200809L _DEFAULT_SOURCE
                                            HO_VERSION="${PROJECT_VERSION}"
                                            HO_AVRO_VERSION="${AVRO_VERSION}")
  target_compile_options(${tgt} PRIVATE -Wall -Wextra -Wshadow -Wno-unused-parameter
                                        -Wstrict-prototypes)
  if(HO_WERROR)
    target_compile_options(${tgt} PRIVATE -Werror)
  endif()
  if(HO_SANITIZE)
    target_compile_options(${tgt} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                          -fno-sanitize-recover=undefined)
    target_link_options(${tgt} PRIVATE -fsanitize=address,undefined)
  endif()
  if(HO_FUZZ)
    # coverage instrumentation for everything the fuzz targets link
    target_compile_options(${tgt} PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
    target_link_options(${tgt} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
