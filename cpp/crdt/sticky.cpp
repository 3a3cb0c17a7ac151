// Sticky positions: the Doc members declared in doc.h, over any sequence root's TextTree.
#include "crdt/sticky.h"

#include "codec/utf.h"
#include "crdt/doc_impl.h"

namespace roomsync {

namespace {

// Every sequence root type, by the name anchors carry. (A new sequence type joins here.)
struct SequenceType {
  RootType type;
  const char* name;
};
constexpr SequenceType kSequenceTypes[] = {{RootType::Text, "text"}, {RootType::List, "list"}};

// The code unit at visible position `pos` of a Text.
char16_t unit_at(const DocImpl& d, const TextTree& t, uint32_t pos) {
  TreePos p = t.find_visible(pos);
  return d.arena[t.run(p.leaf, p.idx).content + p.off];
}

}  // namespace

const char* sequence_type_name(RootType type) {
  for (const SequenceType& s : kSequenceTypes)
    if (s.type == type) return s.name;
  return nullptr;
}

bool is_sequence_root(RootType type) { return sequence_type_name(type) != nullptr; }

bool sequence_type_of(std::string_view name, RootType* out) {
  for (const SequenceType& s : kSequenceTypes) {
    if (name == s.name) {
      *out = s.type;
      return true;
    }
  }
  return false;
}

Status Doc::sticky_index(RootHandle h, uint32_t index, int assoc, Sticky* out) const {
  const DocImpl& d = *impl_;
  if (h >= d.roots.size() || !is_sequence_root(d.roots[h].type))
    return Status::error("not a text or list root");
  const Root& root = d.roots[h];
  const TextTree& t = *root.text;
  const uint32_t len = t.length();
  if (index > len) return Status::error("sticky index past the end", Status::kRange);
  // A cursor never sits inside a character: refuse it as text_insert does.
  if (root.type == RootType::Text && index > 0 && index < len &&
      is_high_surrogate(unit_at(d, t, index - 1)) && is_low_surrogate(unit_at(d, t, index)))
    return Status::error("sticky index splits a surrogate pair", Status::kRange);
  Sticky s;
  s.type = root.type;
  s.name = root.name;
  s.assoc = assoc < 0 ? -1 : 0;
  // The element the anchor follows: the one at index (assoc >= 0) or before it (assoc < 0).
  const uint32_t at = assoc < 0 ? index - 1 : index;
  if (assoc < 0 ? index > 0 : index < len) {
    TreePos p = t.find_visible(at);
    const Run& r = t.run(p.leaf, p.idx);
    s.has_element = true;
    s.client = d.clients[r.client].id;
    s.clock = r.clock + p.off;
  }
  *out = std::move(s);
  return {};
}

namespace {

Status check_element(const Sticky& s) {
  if (s.has_element && s.client > kMaxClientId)
    return Status::error("sticky index client id above 2^53-1", Status::kRange);
  if (s.has_element && s.clock > kMaxClock)
    return Status::error("sticky index clock above 2^31-1", Status::kRange);
  return {};
}

std::optional<uint32_t> resolve_in(const DocImpl& d, const TextTree& t, const Sticky& s) {
  if (!s.has_element) return s.assoc < 0 ? 0 : t.length();
  auto c = d.client_ids.find(s.client);
  if (c == d.client_ids.end()) return std::nullopt;
  TreePos p = t.locate(Id{c->second, s.clock});
  if (p.leaf == TextTree::kNone) return std::nullopt;  // not (yet) integrated, or of another root
  const Run& r = t.run(p.leaf, p.idx);
  // A tombstone sits where the next visible element is, whichever side the anchor keeps.
  return t.position_of(p.leaf, p.idx) + (r.deleted ? 0 : p.off + (s.assoc < 0 ? 1 : 0));
}

}  // namespace

Status Doc::resolve_sticky(const Sticky& s, std::optional<uint32_t>* index) const {
  if (!is_sequence_root(s.type)) return Status::error("sticky index of a root that is no text or list");
  if (Status st = check_element(s); !st) return st;
  const DocImpl& d = *impl_;
  auto h = d.find_root(s.type, s.name);
  if (!h) {  // no such root here yet: it is empty, and none of its elements has arrived
    *index = s.has_element ? std::nullopt : std::optional<uint32_t>(0);
    return {};
  }
  *index = resolve_in(d, *d.roots[*h].text, s);
  return {};
}

Status Doc::resolve_sticky(RootHandle h, const Sticky& s, std::optional<uint32_t>* index) const {
  const DocImpl& d = *impl_;
  if (h >= d.roots.size() || !is_sequence_root(d.roots[h].type))
    return Status::error("not a text or list root");
  const Root& root = d.roots[h];
  if (s.type != root.type || s.name != root.name) {
    std::string m = "sticky index of another root: \"";
    m += s.name;
    m += "\" resolved in \"";
    m += root.name;
    m += '"';
    return Status::error(std::move(m));
  }
  if (Status st = check_element(s); !st) return st;
  *index = resolve_in(d, *root.text, s);
  return {};
}

}  // namespace roomsync
