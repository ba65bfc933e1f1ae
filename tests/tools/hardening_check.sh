#!/bin/sh
# Checks that a binary carries the hardening the build promises: PIE, full RELRO (BIND_NOW),
# a non-executable stack, the stack protector and _FORTIFY_SOURCE checks.
set -eu
bin="$1"
fail=0
check() {
  if eval "$2"; then echo "ok:   $1"; else echo "FAIL: $1"; fail=1; fi
}
check "PIE executable"          "readelf -h '$bin' | grep -q 'Type:.*DYN'"
check "RELRO segment"           "readelf -lW '$bin' | grep -q GNU_RELRO"
check "BIND_NOW (full RELRO)"   "readelf -dW '$bin' | grep -Eq 'BIND_NOW|FLAGS_1.*NOW'"
check "non-executable stack"    "readelf -lW '$bin' | grep GNU_STACK | grep -qv RWE"
check "stack protector"         "readelf -sW --dyn-syms '$bin' | grep -q __stack_chk_fail"
check "_FORTIFY_SOURCE"         "readelf -sW --dyn-syms '$bin' | grep -Eq '__[a-z_]+_chk@'"
exit $fail
