// The detector's contract beyond matching: no allocation per event, and recovery when
// Hyperscan refuses a pattern while compiling a whole database.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "database_builder.h"
#include "rule_harness.h"

namespace {
// Counts allocations of the calling thread while armed.
thread_local bool g_counting = false;
thread_local size_t g_allocations = 0;
}  // namespace

// Every (unaligned) form of new and delete, so all of them pair up over malloc and free.
namespace {
void* CountedAlloc(std::size_t size) {
  if (g_counting) ++g_allocations;
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace

void* operator new(std::size_t size) {
  if (void* p = CountedAlloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = CountedAlloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return CountedAlloc(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return CountedAlloc(size);
}
// GCC at -O2 (RelWithDebInfo) sees free() on what `operator new` returned and warns; here both
// are malloc and free, by construction.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace tuttle::rules::testing {
namespace {

TEST(HyperscanDetector, MatchAllocatesNothingOnceWarm) {
  Harness h(Rule("r1",
                 "sel:\n    cmd|contains: curl\n    user: null\nkw:\n    - evil\n"
                 "condition: sel or kw") +
            "---\n" +
            Rule("r2",
                 "sel:\n    cmd|endswith: /sh\nf:\n    user|exists: true\n"
                 "condition: sel and not f") +
            "---\n" + Rule("r3", "f:\n    user: root\ncondition: not f"));
  ASSERT_TRUE(h.ok()) << h.error();
  const RuleSet& set = h.set();
  auto worker = set.detector->NewWorker();
  FieldTable table;
  table.Add(set.catalog->Find("cmd"), ValueKind::kString, "curl http://x | /bin/sh");
  table.Add(set.catalog->Find("cmd"), ValueKind::kString, "/bin/sh");
  Event event;
  event.raw = R"({"cmd":["curl http://x | /bin/sh","/bin/sh"],"note":"evil"})";
  event.log_source = LogSource{"test", "", ""};
  event.fields = &table;
  std::vector<uint32_t> matched;
  matched.reserve(8);
  worker->Match(event, matched);
  EXPECT_EQ(matched, (std::vector<uint32_t>{0, 1, 2}));

  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 100; ++i) {
    matched.clear();
    worker->Match(event, matched);
  }
  g_counting = false;
  EXPECT_EQ(g_allocations, 0u);
  EXPECT_EQ(matched.size(), 3u);
}

// A pattern that passes the parser's checks can still be refused when its database compiles;
// the builder must drop the rule using it, say where it was written, and keep the rest.
TEST(DatabaseBuilder, RefusedPatternDropsItsRuleAndTheDatabaseIsRebuiltWithoutIt) {
  PredicateTable predicates;
  auto pattern = [&](std::string path, std::string expression) {
    Predicate p;
    p.path = std::move(path);
    p.pattern.expression = std::move(expression);
    p.pattern.flags = HS_FLAG_SINGLEMATCH;
    return predicates.Intern(std::move(p));
  };
  const uint32_t good = pattern("cmd", "curl");
  const uint32_t bad = pattern("cmd", "(a)\\1");  // back-references: Hyperscan refuses
  const uint32_t other = pattern("user", "root");
  std::vector<ParsedDetection> rules(2);
  for (auto& r : rules) {
    r.info = std::make_shared<RuleInfo>();
    r.info->file = "r.yml";
  }
  rules[0].expr = BoolExpr::Nary(BoolExpr::Op::kOr, {BoolExpr::Pred(good), BoolExpr::Pred(bad)});
  rules[0].pattern_sites = {{good, {6, 14}}, {bad, {7, 17}}};
  rules[1].expr = BoolExpr::Nary(BoolExpr::Op::kAnd, {BoolExpr::Pred(good), BoolExpr::Pred(other)});
  rules[1].pattern_sites = {{good, {6, 14}}, {other, {7, 14}}};
  std::vector<bool> alive(2, true);
  Diagnostics diagnostics;
  DatabaseBuilder builder(predicates, rules, alive, diagnostics, 1);
  Result<size_t> dropped = builder.Build();
  ASSERT_TRUE(dropped.ok()) << dropped.error().message();
  EXPECT_EQ(*dropped, 1u);
  EXPECT_EQ(alive, (std::vector<bool>{false, true}));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].ToString(),
            "r.yml:7:17: error: pattern refused by Hyperscan: Back-references are unsupported. "
            "(hint: simplify the value or the regular expression)");
  auto& groups = builder.groups();
  ASSERT_EQ(groups.size(), 2u);
  const auto& cmd = groups.at(DatabaseBuilder::Target{false, "cmd"});
  EXPECT_EQ(cmd.predicates, (std::vector<uint32_t>{good}));
  EXPECT_NE(cmd.db, nullptr);
}

}  // namespace
}  // namespace tuttle::rules::testing
