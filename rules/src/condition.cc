#include "condition.h"

#include <fmt/format.h>

#include "text_util.h"
#include "tuttle/engine/glob.h"

namespace tuttle::rules {
namespace {

struct Token {
  enum class Kind { kWord, kOpen, kClose, kEnd };
  Kind kind = Kind::kEnd;
  std::string_view text;
  size_t offset = 0;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::vector<Token> Tokenize(std::string_view text) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (IsSpace(c)) {
      ++i;
    } else if (c == '(' || c == ')') {
      out.push_back({c == '(' ? Token::Kind::kOpen : Token::Kind::kClose, text.substr(i, 1), i});
      ++i;
    } else {
      const size_t start = i;
      while (i < text.size() && !IsSpace(text[i]) && text[i] != '(' && text[i] != ')') ++i;
      out.push_back({Token::Kind::kWord, text.substr(start, i - start), start});
    }
  }
  out.push_back({Token::Kind::kEnd, {}, text.size()});
  return out;
}

class Parser {
 public:
  Parser(std::string_view text, const std::vector<std::string>& identifiers, ConditionError& error)
      : tokens_(Tokenize(text)), identifiers_(identifiers), error_(error) {}

  bool Parse(BoolExpr& out) {
    if (Peek().kind == Token::Kind::kEnd) return Fail(Peek(), "the condition is empty");
    if (!Or(out)) return false;
    if (Peek().kind != Token::Kind::kEnd) {
      if (Peek().kind == Token::Kind::kClose) return Fail(Peek(), "unbalanced ')'");
      if (Peek().text.starts_with('|')) return Aggregation(Peek());
      return Fail(Peek(), fmt::format("expected 'and', 'or' or the end of the condition, "
                                      "found '{}'",
                                      Peek().text));
    }
    return true;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool PeekKeyword(std::string_view keyword) const {
    return Peek().kind == Token::Kind::kWord && EqualsIgnoreCase(Peek().text, keyword);
  }
  static bool IsKeyword(std::string_view w) {
    for (const char* k : {"and", "or", "not", "of", "them"}) {
      if (EqualsIgnoreCase(w, k)) return true;
    }
    return false;
  }

  bool Fail(const Token& at, std::string message, std::string hint = {}) {
    error_.offset = at.offset;
    error_.message = std::move(message);
    error_.hint = std::move(hint);
    return false;
  }

  // Sigma 1's `selection | count() by x > 5`, replaced by correlation rules.
  bool Aggregation(const Token& at) {
    return Fail(at, "aggregation expressions ('| count() ...') are not supported",
                "write a Sigma correlation rule instead");
  }

  bool Or(BoolExpr& out) {
    std::vector<BoolExpr> terms(1);
    if (!And(terms.back())) return false;
    while (PeekKeyword("or")) {
      Next();
      terms.emplace_back();
      if (!And(terms.back())) return false;
    }
    out = BoolExpr::Nary(BoolExpr::Op::kOr, std::move(terms));
    return true;
  }

  bool And(BoolExpr& out) {
    std::vector<BoolExpr> terms(1);
    if (!Not(terms.back())) return false;
    while (PeekKeyword("and")) {
      Next();
      terms.emplace_back();
      if (!Not(terms.back())) return false;
    }
    out = BoolExpr::Nary(BoolExpr::Op::kAnd, std::move(terms));
    return true;
  }

  bool Not(BoolExpr& out) {
    if (PeekKeyword("not")) {
      Next();
      BoolExpr inner;
      if (!Not(inner)) return false;
      out = BoolExpr::Not(std::move(inner));
      return true;
    }
    return Primary(out);
  }

  bool Primary(BoolExpr& out) {
    const Token& t = Peek();
    switch (t.kind) {
      case Token::Kind::kEnd:
        return Fail(t, "unexpected end of the condition", "an identifier or '(' is missing");
      case Token::Kind::kClose:
        return Fail(t, "unexpected ')'");
      case Token::Kind::kOpen: {
        Next();
        if (!Or(out)) return false;
        if (Peek().kind != Token::Kind::kClose) {
          return Fail(Peek(), Peek().kind == Token::Kind::kEnd
                                  ? "missing ')'"
                                  : fmt::format("expected ')', found '{}'", Peek().text));
        }
        Next();
        return true;
      }
      case Token::Kind::kWord:
        break;
    }
    if (t.text.find('|') != std::string_view::npos) return Aggregation(t);
    // `x of pattern`
    if (tokens_[pos_ + 1].kind == Token::Kind::kWord &&
        EqualsIgnoreCase(tokens_[pos_ + 1].text, "of")) {
      return Quantified(out);
    }
    if (IsKeyword(t.text)) {
      return Fail(t, fmt::format("unexpected '{}'", t.text), "an identifier is missing");
    }
    if (EqualsIgnoreCase(t.text, "all") || t.text == "1" || EqualsIgnoreCase(t.text, "any")) {
      return Fail(t, fmt::format("'{}' must be followed by 'of'", t.text));
    }
    if (t.text.find('*') != std::string_view::npos) {
      return Fail(t, fmt::format("the pattern '{}' needs a quantifier", t.text),
                  fmt::format("write '1 of {0}' or 'all of {0}'", t.text));
    }
    for (size_t i = 0; i < identifiers_.size(); ++i) {
      if (identifiers_[i] == t.text) {
        Next();
        out = BoolExpr::Pred(static_cast<uint32_t>(i));
        return true;
      }
    }
    return Fail(t, fmt::format("undefined search identifier '{}'", t.text),
                DidYouMean(t.text, Names()));
  }

  bool Quantified(BoolExpr& out) {
    const Token& quantifier = Next();
    BoolExpr::Op op;
    if (EqualsIgnoreCase(quantifier.text, "all")) {
      op = BoolExpr::Op::kAnd;
    } else if (quantifier.text == "1" || EqualsIgnoreCase(quantifier.text, "any")) {
      op = BoolExpr::Op::kOr;
    } else {
      return Fail(quantifier, fmt::format("unsupported quantifier '{}'", quantifier.text),
                  "Sigma allows '1 of' and 'all of'");
    }
    Next();  // of
    const Token& target = Peek();
    if (target.kind != Token::Kind::kWord ||
        (IsKeyword(target.text) && !EqualsIgnoreCase(target.text, "them"))) {
      return Fail(target, "expected 'them' or a search identifier pattern after 'of'");
    }
    Next();
    std::vector<BoolExpr> terms;
    if (EqualsIgnoreCase(target.text, "them")) {
      for (size_t i = 0; i < identifiers_.size(); ++i) {
        if (!identifiers_[i].starts_with('_')) {
          terms.push_back(BoolExpr::Pred(static_cast<uint32_t>(i)));
        }
      }
      if (terms.empty()) return Fail(target, "'them' names no search identifier");
    } else {
      const bool underscore = target.text.starts_with('_');
      for (size_t i = 0; i < identifiers_.size(); ++i) {
        if (identifiers_[i].starts_with('_') && !underscore) continue;
        // Identifiers hold no '?', so only `*` is a wildcard here, as Sigma says.
        if (tuttle::GlobMatch(target.text, identifiers_[i])) {
          terms.push_back(BoolExpr::Pred(static_cast<uint32_t>(i)));
        }
      }
      if (terms.empty()) {
        return Fail(target, fmt::format("'{}' matches no search identifier", target.text),
                    DidYouMean(target.text, Names()));
      }
    }
    out = BoolExpr::Nary(op, std::move(terms));
    return true;
  }

  std::vector<std::string_view> Names() const {
    return std::vector<std::string_view>(identifiers_.begin(), identifiers_.end());
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  const std::vector<std::string>& identifiers_;
  ConditionError& error_;
};

}  // namespace

bool ParseCondition(std::string_view text, const std::vector<std::string>& identifiers,
                    BoolExpr& out, ConditionError& error) {
  return Parser(text, identifiers, error).Parse(out);
}

BoolExpr SubstituteIdentifiers(const BoolExpr& condition,
                               const std::vector<BoolExpr>& definitions) {
  switch (condition.op) {
    case BoolExpr::Op::kPredicate:
      return definitions[condition.predicate];
    case BoolExpr::Op::kNot:
      return BoolExpr::Not(SubstituteIdentifiers(condition.children.front(), definitions));
    case BoolExpr::Op::kAnd:
    case BoolExpr::Op::kOr: {
      std::vector<BoolExpr> children;
      children.reserve(condition.children.size());
      for (const BoolExpr& c : condition.children) {
        children.push_back(SubstituteIdentifiers(c, definitions));
      }
      return BoolExpr::Nary(condition.op, std::move(children));
    }
    case BoolExpr::Op::kTrue:
    case BoolExpr::Op::kFalse:
      break;
  }
  return condition;
}

}  // namespace tuttle::rules
