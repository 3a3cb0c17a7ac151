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
constexpr SequenceType kSequenceTypes[] = {{RootType::Text, "text"}};


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
  if (index > len)
    return Status::error("sticky index " + std::to_string(index) + " past the end (" +
                         std::to_string(len) + ")", Status::kRange);
  // A cursor never sits inside a character: refuse it as text_insert does.
  if (root.type == RootType::Text && index > 0 && index < len &&
      is_high_surrogate(unit_at(d, t, index - 1)) && is_low_surrogate(unit_at(d, t, index)))
    return Status::error("sticky index " + std::to_string(index) + " splits a surrogate pair",
                         Status::kRange);
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

Status Doc::resolve_sticky(const Sticky& s, std::optional<uint32_t>* index) const {
  if (!is_sequence_root(s.type)) return Status::error("sticky index of a root that is no text or list");
  if (s.has_element && s.client > kMaxClientId)
    return Status::error("sticky index client id above 2^53-1", Status::kRange);
  if (s.has_element && s.clock > kMaxClock)
    return Status::error("sticky index clock above 2^31-1", Status::kRange);
  const DocImpl& d = *impl_;
  auto h = d.find_root(s.type, s.name);
  if (!h) {  // no such root here yet: it is empty, and none of its elements has arrived
    *index = s.has_element ? std::nullopt : std::optional<uint32_t>(0);
    return {};
  }
  const TextTree& t = *d.roots[*h].text;
  if (!s.has_element) {
    *index = s.assoc < 0 ? 0 : t.length();
    return {};
  }
  *index = std::nullopt;
  auto c = d.client_ids.find(s.client);
  if (c == d.client_ids.end()) return {};
  TreePos p = t.locate(Id{c->second, s.clock});
  if (p.leaf == TextTree::kNone) return {};  // not (yet) integrated, or of another root
  const Run& r = t.run(p.leaf, p.idx);
  uint32_t pos = t.position_of(p.leaf, p.idx);
  // A tombstone sits where the next visible element is, whichever side the anchor keeps.
  if (!r.deleted) pos += p.off + (s.assoc < 0 ? 1 : 0);
  *index = pos;
  return {};
}

Status Doc::resolve_sticky(RootHandle h, const Sticky& s, std::optional<uint32_t>* index) const {
  const DocImpl& d = *impl_;
  if (h >= d.roots.size() || !is_sequence_root(d.roots[h].type))
    return Status::error("not a text or list root");
  const Root& root = d.roots[h];
  if (s.type != root.type || s.name != root.name) {
    const char* kind = is_sequence_root(s.type) ? sequence_type_name(s.type) : "unknown root";
    return Status::error(std::string("sticky index of ") + kind + " \"" + s.name +
                         "\" resolved in " + sequence_type_name(root.type) + " \"" + root.name + "\"");
  }
  return resolve_sticky(s, index);
}

}  // namespace roomsync
