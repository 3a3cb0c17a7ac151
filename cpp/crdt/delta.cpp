#include "crdt/delta.h"

namespace roomsync {
namespace {

uint32_t out_len(const TextDeltaOp& op) { return op.kind == TextDeltaOp::Delete ? 0 : op.length; }

// Splits op i so that it ends `at` units in; returns nothing, op i+1 is the rest.
void split(Delta& d, size_t i, uint32_t at) {
  TextDeltaOp rest = d[i];
  rest.length -= at;
  d[i].length = at;
  if (d[i].kind == TextDeltaOp::Insert) {
    rest.text = d[i].text.substr(at);
    d[i].text.resize(at);
  }
  d.insert(d.begin() + static_cast<ptrdiff_t>(i) + 1, std::move(rest));
}

// Index of the first op at output position `pos`, splitting an op that straddles it; appends
// a retain when `pos` lies past the end of the delta.
size_t seek(Delta& d, uint32_t pos) {
  uint32_t out = 0;
  size_t i = 0;
  for (; i < d.size(); ++i) {
    if (out == pos) return i;
    uint32_t n = out_len(d[i]);
    if (pos < out + n) {
      split(d, i, pos - out);
      return i + 1;
    }
    out += n;
  }
  if (out < pos) d.push_back({TextDeltaOp::Retain, pos - out, {}});
  return d.size();
}

// Canonical form: adjacent ops of a kind merged, inserts before deletes at the same place,
// no trailing retain.
void normalize(Delta& d) {
  Delta out;
  out.reserve(d.size());
  size_t i = 0;
  while (i < d.size()) {
    if (d[i].kind == TextDeltaOp::Retain) {
      if (d[i].length == 0) { ++i; continue; }
      if (!out.empty() && out.back().kind == TextDeltaOp::Retain) out.back().length += d[i].length;
      else out.push_back(d[i]);
      ++i;
      continue;
    }
    TextDeltaOp ins{TextDeltaOp::Insert, 0, {}};
    uint32_t del = 0;
    for (; i < d.size() && d[i].kind != TextDeltaOp::Retain; ++i) {
      if (d[i].kind == TextDeltaOp::Insert) ins.text += d[i].text;
      else del += d[i].length;
    }
    ins.length = static_cast<uint32_t>(ins.text.size());
    if (ins.length) out.push_back(std::move(ins));
    if (del) out.push_back({TextDeltaOp::Delete, del, {}});
  }
  while (!out.empty() && out.back().kind == TextDeltaOp::Retain) out.pop_back();
  d.swap(out);
}

}  // namespace

void delta_insert(Delta& d, uint32_t pos, std::u16string_view text) {
  // Within or at either end of an insert of this transaction (typing, or a remote snapshot
  // arriving run by run): insert into its text in place. normalize() would give the same ops,
  // but split + normalize copy every inserted text, so a snapshot of n runs cost O(n x text)
  // (most of a late joiner's time when the text has observers).
  uint32_t out = 0;
  for (auto& op : d) {
    const uint32_t n = out_len(op);
    if (op.kind == TextDeltaOp::Insert && pos >= out && pos <= out + n) {
      op.text.insert(pos - out, text);
      op.length = static_cast<uint32_t>(op.text.size());
      return;
    }
    if (pos < out + n) break;
    out += n;
  }
  size_t i = seek(d, pos);
  d.insert(d.begin() + static_cast<ptrdiff_t>(i),
           TextDeltaOp{TextDeltaOp::Insert, static_cast<uint32_t>(text.size()), std::u16string(text)});
  normalize(d);
}

void delta_delete(Delta& d, uint32_t pos, uint32_t len) {
  size_t i = seek(d, pos);
  while (len > 0 && i < d.size()) {
    if (d[i].kind == TextDeltaOp::Delete) { ++i; continue; }
    if (d[i].length > len) split(d, i, len);
    uint32_t n = d[i].length;
    if (d[i].kind == TextDeltaOp::Insert) {
      d.erase(d.begin() + static_cast<ptrdiff_t>(i));  // deleting what this txn inserted
    } else {
      d[i].kind = TextDeltaOp::Delete;
      ++i;
    }
    len -= n;
  }
  if (len > 0) d.push_back({TextDeltaOp::Delete, len, {}});
  normalize(d);
}

}  // namespace roomsync
