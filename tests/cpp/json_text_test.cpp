// The JSON syntax check of map/register/list values (codec/json_text.cpp) against nlohmann's
// parser as the oracle: known cases, then seeded random texts and mutations of valid ones.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <random>
#include <regex>
#include <string>

#include "codec/json_text.h"

using roomsync::is_json_value;

namespace {

// nlohmann refuses \u escapes of lone surrogates, which JSON allows (and JSON.stringify writes):
// the oracle sees each such escape as a plain character instead.
bool oracle(const std::string& text) {
  std::string t = text;
  for (size_t i = t.find("\\u"); i != std::string::npos; i = t.find("\\u", i + 1)) {
    if (i > 0) {  // an escaped backslash before it makes it no escape
      size_t k = i;
      while (k > 0 && t[k - 1] == '\\') --k;
      if ((i - k) % 2 == 1) continue;
    }
    if (i + 6 > t.size()) break;
    unsigned v = 0;
    bool ok = true;
    for (size_t j = i + 2; j < i + 6; ++j) {
      const char c = t[j];
      v *= 16;
      if (c >= '0' && c <= '9') v += static_cast<unsigned>(c - '0');
      else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') v += static_cast<unsigned>((c | 0x20) - 'a' + 10);
      else ok = false;
    }
    if (ok && v >= 0xD800 && v <= 0xDFFF) t.replace(i + 2, 4, "0041");
  }
  // A number beyond double's range is valid JSON (JSON.parse reads it as Infinity); nlohmann's
  // parser stops at it as out of range: the oracle then reads the text with small exponents.
  try {
    (void)nlohmann::json::parse(t);
    return true;
  } catch (const nlohmann::json::out_of_range&) {
    return oracle(std::regex_replace(t, std::regex("([eE][+-]?)[0-9]{3,}"), "$010"));
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

}  // namespace

TEST_CASE("json text: known valid and invalid values", "[json]") {
  for (const char* ok : {"0", "-0", "1.5e-3", "-12.0E+7", "true", "false", "null", "\"\"", "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\"",
                         "\"\\u00e9\\uD83D\\uDE00\"", "\"\\ud800\"", "\"\\udc00x\"", " [1, [2, {\"a\": [ ]}], {}] ", "{\"a\":{\"b\":null}}",
                         "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\t\r\n1\n"}) {
    INFO(ok);
    CHECK(is_json_value(ok));
  }
  for (const char* bad : {"", " ", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "True", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}",
                          "{a:1}", "{\"a\":1,}", "[1 2]", "1 2", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"a\nb\"", "[", "]",
                          "{", "}", "[1]]", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "\"\x80\"",
                          "NaN", "Infinity", "'a'"}) {
    INFO(bad);
    CHECK_FALSE(is_json_value(bad));
  }
}

TEST_CASE("json text: deep nesting is checked without recursion", "[json]") {
  std::string deep(200000, '[');
  deep += std::string(200000, ']');
  CHECK(is_json_value(deep));
  deep.pop_back();
  CHECK_FALSE(is_json_value(deep));
}

TEST_CASE("json text: agrees with nlohmann on random and mutated texts", "[json]") {
  std::mt19937_64 rng(20261129);
  const std::vector<std::string> seeds = {
      "{\"id\":\"m1\",\"content\":\"h\xc3\xa9llo \\\"you\\\"\",\"n\":[1,2.5e3,-0.1,true,false,null],\"o\":{}}",
      "[[[]],{\"a\":[{\"b\":\"\\u0041\\ud83d\\ude00\"}]}]", "\"\xf0\x9f\x98\x80 \\n\"", "-123.456e+7"};
  const std::string alphabet = "[]{}\",:\\ 0123456789.-+eEtrufalsn\x80\xc3\xa9\xed\xa0\xff\n\tu";
  size_t agree = 0;
  for (int round = 0; round < 200000; ++round) {
    std::string t;
    if (round % 2 == 0) {  // a mutation of a valid text: the interesting near misses
      t = seeds[rng() % seeds.size()];
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !t.empty(); ++e) {
        const size_t at = rng() % t.size();
        switch (rng() % 3) {
          case 0: t.erase(at, 1); break;
          case 1: t.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
          default: t[at] = alphabet[rng() % alphabet.size()];
        }
      }
    } else {  // short random texts
      const size_t n = rng() % 12;
      for (size_t i = 0; i < n; ++i) t += alphabet[rng() % alphabet.size()];
    }
    const bool ours = is_json_value(t), theirs = oracle(t);
    if (ours != theirs) {
      std::string hexed;
      for (unsigned char ch : t) hexed += " " + std::to_string(ch);
      INFO("text: " << t << " bytes:" << hexed);
      CHECK(ours == theirs);
      return;
    }
    ++agree;
  }
  CHECK(agree == 200000);
}
