# Every dependency comes from a Debian 12 package (.ci/debian-packages.txt).
find_package(PkgConfig REQUIRED)
# librdkafka and Hyperscan ship pkg-config files only.
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
pkg_check_modules(HYPERSCAN REQUIRED IMPORTED_TARGET libhs)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
# cpp-httplib (libcpp-httplib-dev) serves `tuttle run --metrics-listen`; Debian ships it as a
# compiled library with a pkg-config file.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

find_package(simdjson REQUIRED)
find_package(TBB REQUIRED)
find_package(RocksDB REQUIRED)
find_package(fmt REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(Threads REQUIRED)
# zlib (zlib1g-dev, already pulled in by librocksdb-dev): gzip-compressed CloudWatch Logs
# subscription envelopes, as Kinesis and Firehose deliver them (docs/formats.md).
find_package(ZLIB REQUIRED)
if(TUTTLE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(TUTTLE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
