// List roots: ordered sequences of JSON values on the same sequence CRDT as Text.
//
// A list is a TextTree whose runs count elements instead of UTF-16 units: run.content indexes
// DocImpl::list_values (one JSON text per element, the elements of a run contiguous), where a
// text run indexes the arena. Everything else (origins, integration, deletes, encoding of
// ids) is shared with Text; the Text code paths are untouched by lists.
#include <algorithm>

#include "codec/json_text.h"
#include "crdt/doc_impl.h"

namespace roomsync {

// --- DocImpl: list helpers --------------------------------------------------------------------

Root* DocImpl::seq_root(RootHandle h) {
  if (h >= roots.size()) return nullptr;
  Root& r = roots[h];
  return r.type == RootType::Text || r.type == RootType::List ? &r : nullptr;
}

void DocImpl::note_list_insert(RootHandle h, uint32_t pos, uint32_t n) {
  txn.changed = true;
  // The delta composes lengths only; list_event reads the inserted values at commit.
  if (roots[h].observed) note_text_insert(h, pos, std::u16string(n, u' '));
}

void DocImpl::append_list_values(const TextTree& t, uint32_t pos, uint32_t n,
                                 std::vector<std::string>* out) const {
  if (n == 0) return;
  TreePos p = t.find_visible(pos);
  uint32_t leaf = p.leaf, idx = p.idx, off = p.off;
  while (n > 0) {
    const Run& r = t.run(leaf, idx);
    if (!r.deleted) {
      const uint32_t k = std::min(r.len - off, n);
      for (uint32_t i = 0; i < k; ++i) out->push_back(list_values[r.content + off + i]);
      n -= k;
    }
    off = 0;
    if (n > 0 && !t.next_run(&leaf, &idx)) break;
  }
}

// The delta's positions are those of the list after the transaction, so the values an Insert
// added are the elements now at its output position.
void DocImpl::list_event(TransactionResult& res, RootHandle h, std::vector<TextDeltaOp>& delta,
                         bool oversized) {
  const TextTree& t = *roots[h].text;
  ListEvent ev{h, {}};
  if (oversized) {  // replace everything, as for text
    if (t.length()) {
      ev.delta.push_back({TextDeltaOp::Insert, t.length(), {}});
      append_list_values(t, 0, t.length(), &ev.delta.back().values);
    }
    if (txn.text_len_before[h]) ev.delta.push_back({TextDeltaOp::Delete, txn.text_len_before[h], {}});
  } else {
    uint32_t pos = 0;
    for (const TextDeltaOp& op : delta) {
      ev.delta.push_back({op.kind, op.length, {}});
      if (op.kind == TextDeltaOp::Insert) append_list_values(t, pos, op.length, &ev.delta.back().values);
      if (op.kind != TextDeltaOp::Delete) pos += op.length;
    }
  }
  if (!ev.delta.empty()) res.list_events.push_back(std::move(ev));
}

// --- Doc: list API ----------------------------------------------------------------------------

Status Doc::list_insert(RootHandle h, uint32_t pos, const std::vector<std::string_view>& values) {
  DocImpl& d = *impl_;
  Root* root = d.root_of(h, RootType::List);
  if (!root) return Status::error("not a list root");
  TextTree& t = *root->text;
  if (pos > t.length())
    return Status::error("list insert index " + std::to_string(pos) + " past the end (" +
                         std::to_string(t.length()) + ")", Status::kRange);
  for (size_t i = 0; i < values.size(); ++i)
    if (!is_json_value(values[i])) return Status::error("list value " + std::to_string(i) + " is not valid JSON");
  if (values.empty()) return {};
  ClientState& self = d.clients[0];
  if (Status st = check_clock(self, values.size()); !st) return st;
  return in_txn(d, [&] {
    const uint32_t n = static_cast<uint32_t>(values.size());
    const uint32_t content = static_cast<uint32_t>(d.list_values.size());
    for (std::string_view v : values) d.list_values.emplace_back(v);
    const TreePos before = pos > 0 ? t.find_visible(pos - 1) : TreePos{TextTree::kNone, 0, 0};
    insert_own_run(d, t, h, pos, before, n, content);
    d.note_list_insert(h, pos, n);
    return Status::success();
  });
}

Status Doc::list_delete(RootHandle h, uint32_t pos, uint32_t len) {
  DocImpl& d = *impl_;
  Root* root = d.root_of(h, RootType::List);
  if (!root) return Status::error("not a list root");
  TextTree& t = *root->text;
  if (uint64_t{pos} + len > t.length())
    return Status::error("list delete range " + std::to_string(pos) + "+" + std::to_string(len) +
                         " past the end (" + std::to_string(t.length()) + ")", Status::kRange);
  if (len == 0) return {};
  ClientState& self = d.clients[0];
  if (Status st = check_clock(self, len); !st) return st;
  return in_txn(d, [&] {
    delete_own_range(d, t, h, pos, t.find_visible(pos), len);
    return Status::success();
  });
}

uint32_t Doc::list_length(RootHandle h) const {
  const Root* r = impl_->root_of(h, RootType::List);
  return r ? r->text->length() : 0;
}

std::optional<std::string> Doc::list_get(RootHandle h, uint32_t index) const {
  const Root* r = impl_->root_of(h, RootType::List);
  if (!r || index >= r->text->length()) return std::nullopt;
  std::vector<std::string> one;
  impl_->append_list_values(*r->text, index, 1, &one);
  return std::move(one[0]);
}

std::vector<std::string> Doc::list_values(RootHandle h) const {
  std::vector<std::string> out;
  if (const Root* r = impl_->root_of(h, RootType::List)) impl_->append_list_values(*r->text, 0, r->text->length(), &out);
  return out;
}

std::string Doc::list_content(RootHandle h) const {
  std::string out = "[";
  const Root* r = impl_->root_of(h, RootType::List);
  uint32_t leaf, idx;
  for (bool more = r && r->text->first_run(&leaf, &idx); more; more = r->text->next_run(&leaf, &idx)) {
    const Run& run = r->text->run(leaf, idx);
    for (uint32_t i = 0; !run.deleted && i < run.len; ++i) {
      if (out.size() > 1) out += ',';
      out += impl_->list_values[run.content + i];
    }
  }
  out += ']';
  return out;
}

}  // namespace roomsync
