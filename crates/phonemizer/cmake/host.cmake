# Native builds of espeak-ng (espeak-rs-sys): host compilers as usual, options from espeak-options.cmake.
include(${CMAKE_CURRENT_LIST_DIR}/espeak-options.cmake)
