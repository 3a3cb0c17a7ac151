// A transaction's text delta (cpp/crdt/delta.cpp), composed change by change, applied to the
// text before the transaction gives the text after it, and stays canonical (adjacent ops of a
// kind merged, inserts before deletes, no empty op, no trailing retain). Guards the in-place
// insert path (inserts into the transaction's own inserted text are not split + re-merged).
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "crdt/delta.h"

using namespace roomsync;

namespace {
std::u16string apply_delta(const std::u16string& base, const Delta& d) {
  std::u16string out;
  size_t at = 0;
  for (const auto& op : d) {
    if (op.kind == TextDeltaOp::Retain) {
      out += base.substr(at, op.length);
      at += op.length;
    }
    else if (op.kind == TextDeltaOp::Insert) out += op.text;
    else at += op.length;
  }
  return out + base.substr(at);
}

void check_canonical(const Delta& d) {
  for (size_t i = 0; i < d.size(); ++i) {
    REQUIRE(d[i].length > 0);
    if (d[i].kind == TextDeltaOp::Insert) REQUIRE(d[i].length == d[i].text.size());
    if (i > 0) {
      REQUIRE(d[i].kind != d[i - 1].kind);
      REQUIRE(!(d[i - 1].kind == TextDeltaOp::Delete && d[i].kind == TextDeltaOp::Insert));
    }
  }
  if (!d.empty()) REQUIRE(d.back().kind != TextDeltaOp::Retain);
}
}  // namespace

TEST_CASE("text delta: random inserts and deletes compose to the edited text, canonically", "[delta]") {
  uint32_t x = 7;
  auto next = [&](uint32_t n) {
    x = x * 1103515245u + 12345u;
    return (x >> 8) % n;
  };
  for (int round = 0; round < 300; ++round) {
    const std::u16string base(next(40), u'b');
    std::u16string text = base;
    Delta d;
    for (int k = 0, edits = 1 + static_cast<int>(next(30)); k < edits; ++k) {
      if (text.empty() || next(3) != 0) {
        const uint32_t pos = next(static_cast<uint32_t>(text.size()) + 1);
        std::u16string ins(1 + next(4), static_cast<char16_t>(u'a' + next(26)));
        text.insert(pos, ins);
        delta_insert(d, pos, ins);
      } else {
        const uint32_t pos = next(static_cast<uint32_t>(text.size()));
        const uint32_t len = 1 + next(static_cast<uint32_t>(text.size()) - pos);
        text.erase(pos, len);
        delta_delete(d, pos, len);
      }
      INFO("round " << round << " edit " << k);
      REQUIRE(apply_delta(base, d) == text);
      check_canonical(d);
    }
  }
}
