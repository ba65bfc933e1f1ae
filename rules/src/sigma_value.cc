#include "sigma_value.h"

#include <hs.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "text_util.h"

namespace tuttle::rules {
namespace {

enum class TokenKind : uint8_t { kLiteral, kStar, kQuestion, kDash };

// One byte of a value, a wildcard, or (windash) any dash.
struct Token {
  TokenKind kind;
  char byte;
};
using Tokens = std::vector<Token>;

// The dashes windash lets stand for each other, as UTF-8.
constexpr std::string_view kDashes[] = {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"};

// Most value sets a placeholder expansion may produce; more is surely a mistake in the vars.
constexpr size_t kMaxVariants = 4096;

// Values with up to this many windash dashes are spelled out (5^n literals); see below.
constexpr size_t kMaxSpelledDashes = 3;

// Sigma's escaping: a backslash escapes `*`, `?` and itself; before anything else it is a plain
// backslash (so `C:\Windows` needs no doubling, and `\\\\` is two backslashes).
Tokens Tokenize(std::string_view value) {
  Tokens out;
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

// Python's `\w` for the bytes of a value: ASCII letters, digits, '_', and any byte of a non-ASCII
// UTF-8 character (Python's str regexes take letters of every script as word characters).
bool IsWordToken(const Tokens& t, size_t i) {
  if (i >= t.size() || t[i].kind != TokenKind::kLiteral) return false;
  const char c = t[i].byte;
  return IsAsciiAlnum(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

// windash: a '-' or '/' with no word character before it and one after it (`\B[-/]\b`).
void Windash(Tokens& t) {
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i].kind != TokenKind::kLiteral || (t[i].byte != '-' && t[i].byte != '/')) continue;
    const bool word_before = i > 0 && IsWordToken(t, i - 1);
    if (!word_before && IsWordToken(t, i + 1)) t[i] = {TokenKind::kDash, 0};
  }
}

bool AllLiteral(const Tokens& t) {
  for (const Token& x : t) {
    if (x.kind != TokenKind::kLiteral) return false;
  }
  return true;
}

std::string Bytes(const Tokens& t) {
  std::string out;
  out.reserve(t.size());
  for (const Token& x : t) out += x.byte;
  return out;
}

Tokens Literal(std::string_view bytes) {
  Tokens out;
  out.reserve(bytes.size());
  for (const char c : bytes) out.push_back({TokenKind::kLiteral, c});
  return out;
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) | static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// pySigma's base64offset: b64encode(i * b" " + value)[start[i] : end[(len + i) % 3]].
std::vector<std::string> Base64Offsets(std::string_view bytes) {
  static constexpr size_t kStart[] = {0, 2, 3};
  static constexpr size_t kEndTrim[] = {0, 3, 2};
  std::vector<std::string> out;
  for (size_t i = 0; i < 3; ++i) {
    const std::string encoded = Base64(std::string(i, ' ') + std::string(bytes));
    const size_t trim = kEndTrim[(bytes.size() + i) % 3];
    const size_t end = encoded.size() - trim;
    out.push_back(kStart[i] < end ? encoded.substr(kStart[i], end - kStart[i]) : std::string());
  }
  return out;
}

// Decodes one UTF-8 code point at `i`, advancing it; false on invalid UTF-8.
bool NextCodePoint(std::string_view s, size_t& i, uint32_t& cp) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  size_t len = 1;
  if (b0 < 0x80) {
    cp = b0;
  } else if ((b0 & 0xe0) == 0xc0) {
    cp = b0 & 0x1f;
    len = 2;
  } else if ((b0 & 0xf0) == 0xe0) {
    cp = b0 & 0x0f;
    len = 3;
  } else if ((b0 & 0xf8) == 0xf0) {
    cp = b0 & 0x07;
    len = 4;
  } else {
    return false;
  }
  if (i + len > s.size()) return false;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<uint8_t>(s[i + k]);
    if ((b & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
  i += len;
  return true;
}

// Re-encodes the literal runs of `t` as UTF-16; wildcards stay as they are.
bool Utf16(Tokens& t, Transform how, ValueProblem& problem) {
  const bool big = how == Transform::kUtf16be;
  Tokens out;
  if (how == Transform::kUtf16) {
    out.push_back({TokenKind::kLiteral, '\xff'});
    out.push_back({TokenKind::kLiteral, '\xfe'});
  }
  auto unit = [&](uint32_t u) {
    const char lo = static_cast<char>(u & 0xff), hi = static_cast<char>(u >> 8);
    out.push_back({TokenKind::kLiteral, big ? hi : lo});
    out.push_back({TokenKind::kLiteral, big ? lo : hi});
  };
  for (size_t i = 0; i < t.size();) {
    if (t[i].kind == TokenKind::kDash) {
      problem = {"a UTF-16 encoding cannot follow 'windash'",
                 "'windash' applies to plain text: give the dashed forms as separate values"};
      return false;
    }
    if (t[i].kind != TokenKind::kLiteral) {
      out.push_back(t[i++]);
      continue;
    }
    size_t end = i;
    while (end < t.size() && t[end].kind == TokenKind::kLiteral) ++end;
    const std::string run = Bytes(Tokens(t.begin() + static_cast<std::ptrdiff_t>(i),
                                         t.begin() + static_cast<std::ptrdiff_t>(end)));
    for (size_t k = 0; k < run.size();) {
      uint32_t cp = 0;
      if (!NextCodePoint(run, k, cp)) {
        problem = {"the value is not valid UTF-8, so it cannot be encoded as UTF-16", ""};
        return false;
      }
      if (cp >= 0x10000) {
        cp -= 0x10000;
        unit(0xd800 + (cp >> 10));
        unit(0xdc00 + (cp & 0x3ff));
      } else {
        unit(cp);
      }
    }
    i = end;
  }
  t = std::move(out);
  return true;
}

// expand: every combination of the values of the `%name%` placeholders in `value`.
bool Expand(std::string_view value, const Placeholders& placeholders,
            std::vector<std::string>& out, ValueProblem& problem) {
  out.assign(1, std::string());
  size_t i = 0;
  while (i < value.size()) {
    const size_t open = value.find('%', i);
    const size_t close = open == std::string_view::npos ? open : value.find('%', open + 1);
    if (close == std::string_view::npos) {
      for (std::string& v : out) v += value.substr(i);
      break;
    }
    const std::string_view name = value.substr(open + 1, close - open - 1);
    bool word = !name.empty();
    for (const char c : name) word = word && (IsAsciiAlnum(c) || c == '_');
    if (!word) {  // not a placeholder: keep the first '%' and look again after it
      for (std::string& v : out) v += value.substr(i, open + 1 - i);
      i = open + 1;
      continue;
    }
    auto it = placeholders.find(std::string(name));
    if (it == placeholders.end() || it->second.empty()) {
      problem = {fmt::format("placeholder '%{}%' has no values", name),
                 fmt::format("give it values under 'vars' in a processing pipeline, e.g. "
                             "'vars: {{{}: [...]}}', and load it with --pipeline",
                             name)};
      return false;
    }
    if (out.size() * it->second.size() > kMaxVariants) {
      problem = {fmt::format("the placeholders of this value expand to more than {} values",
                             kMaxVariants),
                 "split the rule, or give the placeholders fewer values"};
      return false;
    }
    std::vector<std::string> next;
    next.reserve(out.size() * it->second.size());
    const std::string_view before = value.substr(i, open - i);
    for (const std::string& v : out) {
      for (const std::string& x : it->second) next.push_back(v + std::string(before) + x);
    }
    out = std::move(next);
    i = close + 1;
  }
  return true;
}

HsPattern TokensPattern(Tokens body, const ValueSpec& spec) {
  Tokens tokens;
  tokens.reserve(body.size() + 2);
  const bool star_front = spec.position == ValueSpec::Position::kContains ||
                          spec.position == ValueSpec::Position::kEndswith;
  const bool star_back = spec.position == ValueSpec::Position::kContains ||
                         spec.position == ValueSpec::Position::kStartswith;
  if (star_front) tokens.push_back({TokenKind::kStar, 0});
  for (const Token& t : body) {
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
      case TokenKind::kDash: {
        p.expression += "(?:";
        bool first = true;
        for (const std::string_view d : kDashes) {
          if (!first) p.expression += '|';
          first = false;
          for (const char c : d) AppendLiteral(p.expression, c);
        }
        p.expression += ')';
        break;
      }
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

}  // namespace

HsPattern SigmaStringPattern(std::string_view value, const ValueSpec& spec) {
  return TokensPattern(Tokenize(value), spec);
}

bool SigmaStringPatterns(std::string_view value, const ValueSpec& spec,
                         const Placeholders& placeholders, std::vector<HsPattern>& out,
                         ValueProblem& problem) {
  std::vector<std::string> texts;
  if (spec.expand) {
    if (!Expand(value, placeholders, texts, problem)) return false;
  } else {
    texts.emplace_back(value);
  }
  std::vector<Tokens> variants;
  variants.reserve(texts.size());
  for (const std::string& t : texts) variants.push_back(Tokenize(t));
  for (const Transform how : spec.transforms) {
    std::vector<Tokens> next;
    for (Tokens& t : variants) {
      switch (how) {
        case Transform::kWindash:
          Windash(t);
          next.push_back(std::move(t));
          break;
        case Transform::kBase64:
        case Transform::kBase64Offset:
          if (!AllLiteral(t)) {
            problem = {"Base64 cannot encode wildcards or dash alternatives",
                       "escape '*' and '?' as '\\*' and '\\?' to encode them as characters"};
            return false;
          }
          if (how == Transform::kBase64) {
            next.push_back(Literal(Base64(Bytes(t))));
          } else {
            for (const std::string& v : Base64Offsets(Bytes(t))) next.push_back(Literal(v));
          }
          break;
        case Transform::kUtf16le:
        case Transform::kUtf16be:
        case Transform::kUtf16:
          if (!Utf16(t, how, problem)) return false;
          next.push_back(std::move(t));
          break;
      }
    }
    variants = std::move(next);
  }
  // Dash alternatives as separate literals: Hyperscan compiles sets of plain literals much faster
  // than alternations (the SigmaHQ corpus: 4.5 s against 7.7 s), and they keep the literal fast
  // path. Only values with many dashes keep the alternation.
  std::vector<Tokens> spelled;
  for (Tokens& t : variants) {
    const auto dashes =
        static_cast<size_t>(std::count_if(t.begin(), t.end(), [](const Token& x) {
          return x.kind == TokenKind::kDash;
        }));
    if (dashes == 0 || dashes > kMaxSpelledDashes) {
      spelled.push_back(std::move(t));
      continue;
    }
    std::vector<Tokens> forms(1);
    for (const Token& x : t) {
      if (x.kind != TokenKind::kDash) {
        for (Tokens& f : forms) f.push_back(x);
        continue;
      }
      std::vector<Tokens> next;
      for (const Tokens& f : forms) {
        for (const std::string_view d : kDashes) {
          Tokens g = f;
          for (const char c : d) g.push_back({TokenKind::kLiteral, c});
          next.push_back(std::move(g));
        }
      }
      forms = std::move(next);
    }
    for (Tokens& f : forms) spelled.push_back(std::move(f));
  }
  out.clear();
  for (Tokens& t : spelled) {
    HsPattern p = TokensPattern(std::move(t), spec);
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(std::move(p));
  }
  return true;
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
