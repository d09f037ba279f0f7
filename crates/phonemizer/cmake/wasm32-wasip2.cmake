# espeak-ng (espeak-rs-sys) for wasm32-wasip2 with Debian's clang-19 and wasi-libc.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR wasm32)
set(CMAKE_C_COMPILER clang-19)
set(CMAKE_CXX_COMPILER clang++-19)
set(CMAKE_AR llvm-ar-19 CACHE FILEPATH "")
set(CMAKE_RANLIB llvm-ranlib-19 CACHE FILEPATH "")
# Debian's wasi-libc lives under the wasm32-wasi triple; clang-19 does not map wasm32-wasip2 onto it.
set(CMAKE_C_COMPILER_TARGET wasm32-wasi)
set(CMAKE_CXX_COMPILER_TARGET wasm32-wasi)
# espeak's compat/wctype.h renames iswalnum & co.; wasi-libc's wchar.h must be seen first. Named by
# path, as espeak's own compat/wchar.h shadows it on the include path.
set(WASI_LIBC_INCLUDE_DIR /usr/include/wasm32-wasi CACHE PATH "wasi-libc headers (Debian: wasi-libc)")
add_compile_options("$<$<COMPILE_LANGUAGE:C>:SHELL:-include ${WASI_LIBC_INCLUDE_DIR}/wchar.h>")
# The espeak-ng command-line tool is built too; tmpnam is missing from wasi-libc and it never runs.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--allow-undefined")
include(${CMAKE_CURRENT_LIST_DIR}/espeak-options.cmake)
