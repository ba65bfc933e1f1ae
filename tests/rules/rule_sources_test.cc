// ReadRuleSources: which files are read, in which order.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tuttle/rules/sigma_loader.h"

namespace tuttle::rules {
namespace {

namespace fs = std::filesystem;

class RuleSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tuttle_rule_sources_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& relative, const std::string& text) {
    const fs::path p = dir_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

  std::vector<std::string> Relative(const std::vector<RuleSource>& sources) const {
    std::vector<std::string> out;
    for (const RuleSource& s : sources) {
      out.push_back(fs::path(s.path).lexically_relative(dir_).generic_string());
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(RuleSourcesTest, DirectoriesAreSearchedRecursivelyForYamlFilesInPathOrder) {
  Write("b.yml", "b");
  Write("a.yaml", "a");
  Write("sub/c.yml", "c");
  Write("sub/deeper/d.YML", "d");
  Write("notes.txt", "not a rule");
  Write(".hidden/e.yml", "hidden directory");
  Write(".f.yml", "hidden file");
  Result<std::vector<RuleSource>> sources = ReadRuleSources({dir_.string()});
  ASSERT_TRUE(sources.ok()) << sources.error().message();
  EXPECT_EQ(Relative(*sources),
            (std::vector<std::string>{"a.yaml", "b.yml", "sub/c.yml", "sub/deeper/d.YML"}));
  EXPECT_EQ((*sources)[0].text, "a");
}

TEST_F(RuleSourcesTest, NamedFilesAreReadWhateverTheirExtensionAndOnlyOnce) {
  Write("rule.txt", "r");
  Write("x.yml", "x");
  Result<std::vector<RuleSource>> sources =
      ReadRuleSources({(dir_ / "rule.txt").string(), (dir_ / "x.yml").string(), dir_.string()});
  ASSERT_TRUE(sources.ok()) << sources.error().message();
  EXPECT_EQ(Relative(*sources), (std::vector<std::string>{"rule.txt", "x.yml"}));
}

TEST_F(RuleSourcesTest, MissingPathIsAnError) {
  Result<std::vector<RuleSource>> sources = ReadRuleSources({(dir_ / "nope").string()});
  ASSERT_FALSE(sources.ok());
  EXPECT_EQ(sources.error().message(),
            "cannot read rules from '" + (dir_ / "nope").string() + "': no such file or directory");
}

}  // namespace
}  // namespace tuttle::rules
