// `loyalty text` as a user runs it: score, train (then new texts use the model), topics,
// and one-line errors for bad files.

#include <fstream>

#include "cli_fixture.hpp"

namespace loyalty::cli {
namespace {

using core::Json;

class TextCliTest : public CliTest {
 protected:
  std::string WriteFile(const std::string& name, const std::string& content) {
    const auto path = dir_ / name;
    std::ofstream(path) << content;
    return path.string();
  }
};

TEST_F(TextCliTest, ScoresTrainsAndReportsTopics) {
  const Json scored = LoyaltyJson("text score 'the parcel arrived damaged' 'love the rewards'");
  ASSERT_EQ(scored["results"].size(), 2u);
  EXPECT_EQ(scored["results"][0]["sentiment"]["label"], "negative");
  EXPECT_EQ(scored["results"][0]["sentiment"]["model"], "lexicon");
  EXPECT_EQ(scored["results"][1]["sentiment"]["label"], "positive");
  const CliRun text = Loyalty("text score 'the app logs me out'");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("app_login"), std::string::npos) << text.out;

  std::string lines;
  for (int r = 0; r < 5; ++r) {
    lines += "so happy with my order\t1\nquick delivery, perfect\t1\nfriendly helpful staff\t1\n";
    lines += "parcel never came\t0\nrude staff today\t0\ncharged me twice\t0\n";
  }
  const Json trained = LoyaltyJson("text train --folds 3 --labeled " + WriteFile("labelled.txt", lines));
  EXPECT_EQ(trained["model"]["name"], "sentiment@1");
  EXPECT_EQ(trained["examples"], 30);
  EXPECT_EQ(trained["validation"]["folds"], 3);
  EXPECT_EQ(LoyaltyJson("text score 'rude staff'")["results"][0]["sentiment"]["model"], "sentiment@1");
  EXPECT_EQ(LoyaltyJson("models list")[0]["name"], "sentiment@1");

  ExpectOneLineError(Loyalty("text train --labeled " + WriteFile("bad.txt", "fine\t1\nno tab\n")), 2, "line 2");
  ExpectOneLineError(Loyalty("text train --labeled " + (dir_ / "missing.txt").string()), 2, "cannot open");
  ExpectOneLineError(Loyalty("text topics --from 2026-01-01T00:00:00Z --bucket year"), 2, "bucket");
  const Json topics = LoyaltyJson("text topics --from 2026-01-01T00:00:00Z --to 2026-02-01T00:00:00Z");
  EXPECT_EQ(topics["texts"], 0);
}

TEST_F(TextCliTest, TheVaultKeepsTextsAndIsReSealedUnderANewKey) {
  const std::string events = WriteFile(
      "events.ndjson",
      R"({"id":"t1","type":"message","at":"2026-01-05T10:00:00Z","member":"ann","channel":"app","properties":{"text":"where is my parcel?"}})"
      "\n");
  ASSERT_EQ(Loyalty("members create --member ann").exit_code, 0);
  ASSERT_EQ(Loyalty("import events " + events).exit_code, 0);
  const Json before = LoyaltyJson("vault status");
  EXPECT_EQ(before["entries"], 1);
  const Json rekeyed = LoyaltyJson("vault rekey --new-key-file " + (dir_ / "next.key").string());
  EXPECT_EQ(rekeyed["entries"], 1);
  EXPECT_TRUE(rekeyed["key_file_updated"].get<bool>());
  EXPECT_NE(rekeyed["key_id"], before["key_id"]);
  EXPECT_EQ(LoyaltyJson("vault status")["key_id"], rekeyed["key_id"]);  // the data dir's key file was replaced
  ExpectOneLineError(Loyalty("vault rekey --new-key-file " + (dir_ / "next.key").string()), 2, "in use");
  ExpectOneLineError(Loyalty("vault rekey --new-key-file " + WriteFile("bad.key", "xyz")), 2, "64 hex digits");
  // A lost key is found at start, not when a text is read.
  const std::string real_key = rekeyed["key_id"].get<std::string>();
  std::filesystem::remove(dir_ / "data" / "vault.key");
  ExpectOneLineError(Loyalty("vault status"), 5, real_key);
}

}  // namespace
}  // namespace loyalty::cli
