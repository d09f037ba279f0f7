# espeak-ng build options shared by the host and wasm toolchain files: phonemes only, nothing fetched.

# deps.cmake downloads sonic when it finds no system copy; pretend one is there and switch it off.
set(SONIC_LIB sonic-not-used CACHE STRING "")
set(SONIC_INC sonic-not-used CACHE STRING "")
set(USE_LIBSONIC OFF CACHE BOOL "")
set(USE_LIBPCAUDIO OFF CACHE BOOL "")
set(USE_MBROLA OFF CACHE BOOL "")
set(USE_ASYNC OFF CACHE BOOL "")
# The C++ speech player is never reached from the phonemizer; leaving it out keeps C++ out of the link.
set(USE_SPEECHPLAYER OFF CACHE BOOL "")
