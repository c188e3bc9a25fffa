#include "cli/output.h"

#include <string>

#include "arca/v1/kv.pb.h"
#include "arca/v1/sys.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace arca::cli {
namespace {

using ::testing::HasSubstr;

TEST(ProtoToJsonTest, InitResponseHasDocumentedShape) {
  v1::InitResponse r;
  r.add_keys_base64("a2V5MQ==");
  r.add_keys_base64("a2V5Mg==");
  r.set_root_token("arca.root.xyz");
  auto json = ProtoToJson(r);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(
      *json,
      R"({"keys_base64":["a2V5MQ==","a2V5Mg=="],"root_token":"arca.root.xyz"})");
}

TEST(ProtoToJsonTest, ZeroAndFalseFieldsArePrintedWithProtoNames) {
  v1::SealStatusResponse s;
  s.set_initialized(true);
  auto json = ProtoToJson(s);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, R"({"initialized":true,"sealed":false,"secret_shares":0,)"
                   R"("secret_threshold":0,"progress":0,"version":""})");
}

TEST(ProtoToJsonTest, MapKeysAreSortedAnd64BitIntegersAreStrings) {
  v1::KvGetResponse r;
  // Enough keys that hash order would almost surely differ from sorted.
  for (char c = 'z'; c >= 'a'; --c) {
    (*r.mutable_data())[std::string(1, c)] = std::string(1, c);
  }
  r.mutable_metadata()->set_version(3);
  r.mutable_metadata()->set_created_time_unix_ms(1700000000123);
  auto json = ProtoToJson(r);
  ASSERT_TRUE(json.ok());
  std::string expected_data = "{";
  for (char c = 'a'; c <= 'z'; ++c) {
    if (c != 'a') expected_data += ",";
    expected_data += std::string("\"") + c + "\":\"" + c + "\"";
  }
  expected_data += "}";
  EXPECT_THAT(*json, HasSubstr("\"data\":" + expected_data));
  EXPECT_THAT(*json, HasSubstr(R"("version":"3")"));
  EXPECT_THAT(*json, HasSubstr(R"("created_time_unix_ms":"1700000000123")"));
  EXPECT_THAT(*json, HasSubstr(R"("deletion_time_unix_ms":"0")"));
  EXPECT_THAT(*json, HasSubstr(R"("destroyed":false)"));
}

TEST(ProtoToJsonTest, EmptyRepeatedFieldIsAnEmptyArray) {
  v1::KvListResponse r;
  auto json = ProtoToJson(r);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, R"({"keys":[]})");
}

TEST(ProtoToJsonTest, EmptyMessageIsEmptyObject) {
  auto json = ProtoToJson(v1::SealResponse());
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, "{}");
}

TEST(FormatTableTest, AlignsSecondColumnAfterHeaderAndRule) {
  EXPECT_EQ(
      FormatTable({{"Sealed", "true"}, {"Threshold", "3"}}, {"Key", "Value"}),
      "Key         Value\n"
      "---         -----\n"
      "Sealed      true\n"
      "Threshold   3\n");
}

TEST(FormatTableTest, ControlBytesInCellsAreEscapedAndAligned) {
  const std::string key = "k\x1b[2J";
  const std::string value = "red\x1b[31m\nline2\r\tend\x7f\\";
  EXPECT_EQ(FormatTable({{key, value}, {"b", "ok"}}),
            "k\\x1b[2J   red\\x1b[31m\\nline2\\r\\tend\\x7f\\\\\n"
            "b          ok\n");
}

TEST(EscapeForTerminalTest, C1ControlsAndInvalidUtf8AreEscapedPrintableKept) {
  // U+009B is an 8-bit CSI; 0xff and a lone continuation byte are not UTF-8.
  EXPECT_EQ(EscapeForTerminal("a\xc2\x9b" "b\xff\x80"),
            "a\\xc2\\x9bb\\xff\\x80");
  EXPECT_EQ(EscapeForTerminal("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
  EXPECT_EQ(EscapeForTerminal("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
}

TEST(FormatTableTest, NoHeaderMeansRowsOnly) {
  EXPECT_EQ(FormatTable({{"a", "1"}}), "a   1\n");
}

TEST(FormatTimeTest, MillisecondsRenderAsRfc3339Utc) {
  EXPECT_EQ(FormatUnixMillis(1700000000123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatUnixMillis(0), "-");
  EXPECT_EQ(FormatUnixSeconds(1700000000), "2023-11-14T22:13:20Z");
}

}  // namespace
}  // namespace arca::cli
