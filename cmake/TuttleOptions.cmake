# One INTERFACE target carries warnings, hardening and sanitizer flags for every Tuttle target.
include(CheckPIESupported)
check_pie_supported()
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

add_library(tuttle_options INTERFACE)
add_library(tuttle::options ALIAS tuttle_options)

target_compile_options(tuttle_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wformat=2 -Wimplicit-fallthrough
  # Hardening: stack protector, stack clash protection, control-flow protection.
  -fstack-protector-strong -fstack-clash-protection -fcf-protection)
# simdjson's On-Demand API picks its SIMD kernel at compile time: without an -march it runs the
# slow scalar fallback. Its Haswell kernel needs AVX2, BMI, LZCNT (all in x86-64-v3) and PCLMUL
# (not in the level, but in every CPU that has the rest). Build with -DTUTTLE_MARCH=x86-64 for
# older machines.
set(TUTTLE_MARCH "x86-64-v3" CACHE STRING "Target x86 micro-architecture level (-march)")
if(TUTTLE_MARCH AND CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  target_compile_options(tuttle_options INTERFACE -march=${TUTTLE_MARCH})
  if(TUTTLE_MARCH MATCHES "x86-64-v[34]")
    target_compile_options(tuttle_options INTERFACE -mpclmul)
  endif()
endif()

if(TUTTLE_WERROR)
  target_compile_options(tuttle_options INTERFACE -Werror)
endif()

# _FORTIFY_SOURCE needs optimisation; sanitizer builds replace it with their own checks.
if(NOT TUTTLE_SANITIZE)
  target_compile_options(tuttle_options INTERFACE
    $<$<NOT:$<CONFIG:Debug>>:-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2>)
endif()

# Full RELRO and a non-executable stack; PIE comes from CMAKE_POSITION_INDEPENDENT_CODE.
target_link_options(tuttle_options INTERFACE
  -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack -Wl,--as-needed)

# Fuzz builds instrument every library for coverage; the targets add the libFuzzer main.
if(TUTTLE_FUZZ)
  target_compile_options(tuttle_options INTERFACE -fsanitize=fuzzer-no-link)
endif()

if(TUTTLE_SANITIZE)
  string(REPLACE "," ";" _sanitizers "${TUTTLE_SANITIZE}")
  foreach(_s IN LISTS _sanitizers)
    target_compile_options(tuttle_options INTERFACE -fsanitize=${_s})
    target_link_options(tuttle_options INTERFACE -fsanitize=${_s})
  endforeach()
  target_compile_options(tuttle_options INTERFACE -fno-omit-frame-pointer -fno-sanitize-recover=all)
endif()
