// Identifier normalisation: one spelling per person, and a reason for every refusal.

#include "loyalty/identity/identifier.hpp"

#include <gtest/gtest.h>

namespace loyalty::identity {
namespace {

class IdentifierTest : public ::testing::Test {
 protected:
  std::string Normalized(IdentifierKind kind, std::string_view raw) {
    auto id = normalizer_.Normalize(kind, raw);
    EXPECT_TRUE(id) << raw << ": " << id.error().message;
    return id ? id->value : "";
  }
  std::string Refusal(IdentifierKind kind, std::string_view raw) {
    auto id = normalizer_.Normalize(kind, raw);
    EXPECT_FALSE(id) << raw << " was accepted as " << (id ? id->value : "");
    return id ? "" : id.error().message;
  }

  Normalizer normalizer_ = *Normalizer::Create("DE");
};

TEST_F(IdentifierTest, EmailsAreTrimmedAndLowerCasedButAliasesKept) {
  EXPECT_EQ(Normalized(IdentifierKind::kEmail, "  Ann.Lee+promo@Example.COM \t"), "ann.lee+promo@example.com");
  EXPECT_EQ(Normalized(IdentifierKind::kEmail, "a@b.co"), "a@b.co");
}

TEST_F(IdentifierTest, MalformedEmailsAreRefusedWithTheReason) {
  EXPECT_NE(Refusal(IdentifierKind::kEmail, "ann.example.com").find("exactly one '@'"), std::string::npos);
  EXPECT_NE(Refusal(IdentifierKind::kEmail, "a@b@c.com").find("exactly one '@'"), std::string::npos);
  EXPECT_NE(Refusal(IdentifierKind::kEmail, "@example.com").find("before the '@'"), std::string::npos);
  EXPECT_NE(Refusal(IdentifierKind::kEmail, "ann@localhost").find("domain with a dot"), std::string::npos);
  EXPECT_NE(Refusal(IdentifierKind::kEmail, "ann@-x.com").find("invalid domain"), std::string::npos);
  EXPECT_NE(Refusal(IdentifierKind::kEmail, "ann@x..com").find("invalid domain"), std::string::npos);
  EXPECT_NE(Refusal(IdentifierKind::kEmail, "an n@x.com").find("not allowed"), std::string::npos);
  EXPECT_NE(Refusal(IdentifierKind::kEmail, ".ann@x.com").find("misplaced '.'"), std::string::npos);
  EXPECT_NE(Refusal(IdentifierKind::kEmail, "   ").find("empty"), std::string::npos);
}

TEST_F(IdentifierTest, PhonesBecomeE164InTheDefaultRegionUnlessInternational) {
  EXPECT_EQ(Normalized(IdentifierKind::kPhone, "030 1234567"), "+49301234567");
  EXPECT_EQ(Normalized(IdentifierKind::kPhone, "+49 (0)30 123-4567"), "+49301234567");
  EXPECT_EQ(Normalized(IdentifierKind::kPhone, "+1 650-253-0000"), "+16502530000");
  auto us = *Normalizer::Create("US");
  EXPECT_EQ(us.Normalize(IdentifierKind::kPhone, "(650) 253-0000")->value, "+16502530000");
}

TEST_F(IdentifierTest, InvalidPhonesAreRefused) {
  EXPECT_NE(Refusal(IdentifierKind::kPhone, "hello").find("not a phone number"), std::string::npos);
  EXPECT_NE(Refusal(IdentifierKind::kPhone, "12").find("phone"), std::string::npos);
  EXPECT_NE(Refusal(IdentifierKind::kPhone, "+1 000-000-0000").find("not a valid number"), std::string::npos);
  EXPECT_NE(Refusal(IdentifierKind::kPhone, "").find("1 to 40"), std::string::npos);
}

TEST_F(IdentifierTest, CardsDeviceAndExternalIds) {
  EXPECT_EQ(Normalized(IdentifierKind::kCard, "6001 2345-6789 01"), "600123456789" "01");
  EXPECT_NE(Refusal(IdentifierKind::kCard, "12ab34").find("only digits"), std::string::npos);
  EXPECT_NE(Refusal(IdentifierKind::kCard, "123").find("6 to 32 digits"), std::string::npos);
  EXPECT_EQ(Normalized(IdentifierKind::kDevice, " IDFA-AB12 "), "IDFA-AB12");  // case kept: ids are opaque
  EXPECT_NE(Refusal(IdentifierKind::kDevice, "a b").find("without spaces"), std::string::npos);
  EXPECT_EQ(Normalized(IdentifierKind::kExternal, "crm:000123"), "crm:000123");
  EXPECT_NE(Refusal(IdentifierKind::kExternal, std::string(129, 'x')).find("1 to 128"), std::string::npos);
}

TEST_F(IdentifierTest, KindValueTextRoundTrips) {
  auto parsed = normalizer_.Parse("email:Ann@Example.com");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(ToString(*parsed), "email:ann@example.com");
  EXPECT_FALSE(normalizer_.Parse("ann@example.com"));
  EXPECT_NE(normalizer_.Parse("fax:123").error().message.find("not one of email, phone"), std::string::npos);
}

TEST_F(IdentifierTest, AnUnknownDefaultRegionIsAConfigurationError) {
  auto bad = Normalizer::Create("XX");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("identity.default_region"), std::string::npos);
}

}  // namespace
}  // namespace loyalty::identity
