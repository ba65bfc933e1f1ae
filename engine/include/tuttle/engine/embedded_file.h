#pragma once
// A file compiled into the binary (see cmake/TuttleEmbed.cmake): the default rules and sample.

#include <string_view>

namespace tuttle {

struct EmbeddedFile {
  std::string_view path;  // relative to the folder it was embedded from
  std::string_view data;
};

}  // namespace tuttle
