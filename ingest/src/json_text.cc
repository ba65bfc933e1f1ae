#include "json_text.h"

#include <simdjson.h>

namespace tuttle::ingest::internal {

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t plain = 0;  // start of the run of bytes that need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

bool IsPlainNumber(std::string_view s) {
  size_t i = 0;
  if (s.empty()) return false;
  if (s[0] == '0') {
    i = 1;
  } else {
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == 0) return false;
  }
  if (i == s.size()) return true;
  if (s[i] != '.') return false;
  ++i;
  const size_t fraction = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  return i > fraction && i == s.size();
}

bool IsValidUtf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' ||
                        s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

struct JsonObjectChecker::Impl {
  simdjson::dom::parser parser;
};

// Deeper objects stay a string: the JSON parser follows 128 levels, and the message sits one
// or two levels down in the record.
constexpr size_t kMaxObjectDepth = 64;

JsonObjectChecker::JsonObjectChecker() : impl_(new Impl) {
  // parse() grows the capacity as needed and keeps this depth.
  // If it fails, so does every parse(), and messages stay text: no harm.
  const simdjson::error_code e = impl_->parser.allocate(4096, kMaxObjectDepth);
  (void)e;
}
JsonObjectChecker::~JsonObjectChecker() { delete impl_; }

bool JsonObjectChecker::IsObject(std::string_view s) {
  s = Trim(s);
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return false;
  scratch_.assign(s);
  scratch_.append(simdjson::SIMDJSON_PADDING, '\0');
  simdjson::dom::element root;
  if (impl_->parser.parse(scratch_.data(), s.size(), false).get(root)) return false;
  return root.is_object();
}

}  // namespace tuttle::ingest::internal
