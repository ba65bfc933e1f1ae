#pragma once
// Small helpers for the text-log decorators, which write JSON records for the JSON parser:
// string escaping, number checks and object-message detection. Internal to tuttle::ingest.

#include <string>
#include <string_view>

namespace tuttle::ingest::internal {

// Appends `s` as a JSON string literal (quotes included). REQUIRES: `s` is valid UTF-8.
void AppendJsonString(std::string& out, std::string_view s);

// Appends `"key":` (key written as is: callers pass plain ASCII names).
inline void AppendKey(std::string& out, std::string_view key) {
  out += '"';
  out += key;
  out += "\":";
}

// True when `s` is a JSON number as Lambda writes them: 0 or [1-9][0-9]*, then optionally
// '.' and digits. Such text can be copied into a JSON record verbatim.
bool IsPlainNumber(std::string_view s);

// True when `s` is valid UTF-8.
bool IsValidUtf8(std::string_view s);

// `s` without leading and trailing ASCII white space.
std::string_view Trim(std::string_view s);

// True when `s` (trimmed) is one complete, valid JSON object. Uses simdjson's DOM parser, which
// validates the whole text; `scratch` is reused between calls to hold a padded copy.
class JsonObjectChecker {
 public:
  JsonObjectChecker();
  ~JsonObjectChecker();
  JsonObjectChecker(const JsonObjectChecker&) = delete;
  JsonObjectChecker& operator=(const JsonObjectChecker&) = delete;

  bool IsObject(std::string_view s);

 private:
  struct Impl;
  Impl* impl_;
  std::string scratch_;
};

}  // namespace tuttle::ingest::internal
