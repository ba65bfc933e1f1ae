#include "sigma_value.h"

#include <hs.h>

#include <cstdlib>
#include <vector>

#include "text_util.h"

namespace tuttle::rules {
namespace {

enum class TokenKind : uint8_t { kLiteral, kStar, kQuestion };

struct Token {
  TokenKind kind;
  char byte;
};

// Sigma's escaping: a backslash escapes `*`, `?` and itself; before anything else it is a plain
// backslash (so `C:\Windows` needs no doubling, and `\\\\` is two backslashes).
std::vector<Token> Tokenize(std::string_view value) {
  std::vector<Token> out;
  out.reserve(value.size() + 2);
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\\') {
      if (i + 1 < value.size() &&
          (value[i + 1] == '*' || value[i + 1] == '?' || value[i + 1] == '\\')) {
        out.push_back({TokenKind::kLiteral, value[i + 1]});
        ++i;
      } else {
        out.push_back({TokenKind::kLiteral, '\\'});
      }
    } else if (c == '*') {
      out.push_back({TokenKind::kStar, 0});
    } else if (c == '?') {
      out.push_back({TokenKind::kQuestion, 0});
    } else {
      out.push_back({TokenKind::kLiteral, c});
    }
  }
  return out;
}

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

void AppendLiteral(std::string& out, char c) {
  if (IsAsciiAlnum(c)) {
    out += c;
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const auto b = static_cast<unsigned char>(c);
  out += "\\x";
  out += kHex[b >> 4];
  out += kHex[b & 0xf];
}

}  // namespace

HsPattern SigmaStringPattern(std::string_view value, const ValueSpec& spec) {
  std::vector<Token> tokens;
  tokens.reserve(value.size() + 2);
  const bool star_front = spec.position == ValueSpec::Position::kContains ||
                          spec.position == ValueSpec::Position::kEndswith;
  const bool star_back = spec.position == ValueSpec::Position::kContains ||
                         spec.position == ValueSpec::Position::kStartswith;
  if (star_front) tokens.push_back({TokenKind::kStar, 0});
  for (const Token& t : Tokenize(value)) {
    // `**` means `*`.
    if (t.kind == TokenKind::kStar && !tokens.empty() && tokens.back().kind == TokenKind::kStar) {
      continue;
    }
    tokens.push_back(t);
  }
  if (star_back && (tokens.empty() || tokens.back().kind != TokenKind::kStar)) {
    tokens.push_back({TokenKind::kStar, 0});
  }

  size_t begin = 0, end = tokens.size();
  const bool anchor_start = begin == end || tokens[begin].kind != TokenKind::kStar;
  if (!anchor_start) ++begin;
  const bool anchor_end = begin == end || tokens[end - 1].kind != TokenKind::kStar;
  if (!anchor_end && end > begin) --end;

  HsPattern p;
  if (begin == end) {
    p.flags = HS_FLAG_ALLOWEMPTY;
    if (tokens.empty()) {
      // An empty equality: the empty match at offset 0 must also be the end.
      p.expression.push_back('^');
      p.anchor = Anchor::kEnd;
    } else {
      // Nothing but wildcards: matches every value, the empty one too. One canonical spelling so
      // all such predicates of a path share a pattern.
      p.flags |= HS_FLAG_SINGLEMATCH;
    }
    return p;
  }
  bool wildcard = false, letters = false;
  for (size_t i = begin; i < end; ++i) wildcard = wildcard || tokens[i].kind != TokenKind::kLiteral;
  if (anchor_start && wildcard) p.expression += '^';
  for (size_t i = begin; i < end; ++i) {
    switch (tokens[i].kind) {
      case TokenKind::kLiteral:
        letters = letters || IsAsciiAlpha(tokens[i].byte);
        // Caseless patterns are spelled in lower case, so "CREATE" and "create" share one.
        AppendLiteral(p.expression, spec.cased ? tokens[i].byte : AsciiLower(tokens[i].byte));
        break;
      case TokenKind::kStar:
        p.expression += ".*";
        break;
      case TokenKind::kQuestion:
        p.expression += '.';
        break;
    }
  }
  if (wildcard) {
    if (anchor_end) p.expression += "\\z";
    p.flags |= HS_FLAG_SINGLEMATCH;
  } else if (anchor_start || anchor_end) {
    // Every match is needed to find the one at the anchor.
    p.anchor = anchor_start ? (anchor_end ? Anchor::kWhole : Anchor::kStart) : Anchor::kEnd;
    p.literal_length = static_cast<uint32_t>(end - begin);
  } else {
    p.flags |= HS_FLAG_SINGLEMATCH;
  }
  // Case folding only matters with letters; leaving it off otherwise lets "4624" and a cased
  // "4624" share one pattern.
  if (!spec.cased && letters) p.flags |= HS_FLAG_CASELESS;
  if (wildcard) p.flags |= HS_FLAG_DOTALL;
  return p;
}

Result<HsPattern> RegexPattern(std::string_view value, const ValueSpec& spec) {
  if (value.find('\0') != std::string_view::npos) {
    return Error("the regular expression contains a NUL byte");
  }
  HsPattern p;
  p.expression = std::string(value);
  p.flags = HS_FLAG_SINGLEMATCH;
  if (spec.re_caseless) p.flags |= HS_FLAG_CASELESS;
  if (spec.re_multiline) p.flags |= HS_FLAG_MULTILINE;
  if (spec.re_dotall) p.flags |= HS_FLAG_DOTALL;
  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_expression_info(p.expression.c_str(), p.flags | HS_FLAG_ALLOWEMPTY, &info, &error) !=
      HS_SUCCESS) {
    std::string message = error != nullptr ? error->message : "unknown error";
    hs_free_compile_error(error);
    return Error(std::move(message));
  }
  // A regex that can match the empty string (`a*`) matches every value; Hyperscan wants that
  // said explicitly.
  if (info->min_width == 0) p.flags |= HS_FLAG_ALLOWEMPTY;
  std::free(info);  // allocated by Hyperscan's misc allocator, malloc by default
  return p;
}

}  // namespace tuttle::rules
