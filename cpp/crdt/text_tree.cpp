#include "crdt/text_tree.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace roomsync {


// --- ChunkList (memory, issue 8) ----------------------------------------------------------

void* ChunkList::slot(uint32_t n, size_t size, uint32_t chunk) {
  if (n % chunk == 0) chunks_.push_back(std::unique_ptr<unsigned char[]>(new unsigned char[size * chunk]));
  return chunks_[n / chunk].get() + size * (n % chunk);
}

// --- BlockIndex ---------------------------------------------------------------------------

BlockIndex::BlockIndex() {
  first_.push_back(0);
  blocks_.push_back(std::make_unique<Block>());
}

uint32_t BlockIndex::block_of(uint64_t k) const {
  auto it = std::upper_bound(first_.begin() + 1, first_.end(), k);
  return static_cast<uint32_t>(it - first_.begin() - 1);
}

uint32_t BlockIndex::floor(uint64_t k, uint64_t* found, uint32_t none) const {
  const Block& b = *blocks_[block_of(k)];
  const uint64_t* it = std::upper_bound(b.key, b.key + b.n, k);
  if (it == b.key) return none;  // only in block 0: every other block starts at or below k
  *found = it[-1];
  return b.val[it - 1 - b.key];
}

uint64_t BlockIndex::ceil_key(uint64_t k) const {
  uint32_t bi = block_of(k);
  const Block& b = *blocks_[bi];
  const uint64_t* it = std::lower_bound(b.key, b.key + b.n, k);
  if (it != b.key + b.n) return *it;
  return bi + 1 < blocks_.size() ? blocks_[bi + 1]->key[0] : kNoKey;
}

void BlockIndex::set(uint64_t k, uint32_t v) {
  uint32_t bi = block_of(k);
  Block* b = blocks_[bi].get();
  uint32_t i = static_cast<uint32_t>(std::lower_bound(b->key, b->key + b->n, k) - b->key);
  if (i < b->n && b->key[i] == k) {
    b->val[i] = v;
    return;
  }
  if (b->n == kBlock) {  // split in halves; the new block follows
    auto right = std::make_unique<Block>();
    // Keys mostly come in increasing order (clocks): a key past the end of its block moves
    // only the last eighth along, so blocks stay mostly full instead of half used, with a little
    // room for entries of runs that move (memory, issue 8).
    const uint32_t at = i == kBlock ? kBlock * 7 / 8 : kBlock / 2, moved = kBlock - at;
    std::memcpy(right->key, b->key + at, moved * sizeof(uint64_t));
    std::memcpy(right->val, b->val + at, moved * sizeof(uint32_t));
    right->n = moved;
    b->n = at;
    first_.insert(first_.begin() + bi + 1, right->key[0]);
    blocks_.insert(blocks_.begin() + bi + 1, std::move(right));
    if (i > at) {
      ++bi;
      i -= at;
      b = blocks_[bi].get();
    }
  }
  std::memmove(b->key + i + 1, b->key + i, (b->n - i) * sizeof(uint64_t));
  std::memmove(b->val + i + 1, b->val + i, (b->n - i) * sizeof(uint32_t));
  b->key[i] = k;
  b->val[i] = v;
  ++b->n;
  if (i == 0 && bi > 0) first_[bi] = k;
}

void BlockIndex::remove_block(uint32_t b) {
  first_.erase(first_.begin() + b);
  blocks_.erase(blocks_.begin() + b);
}

void BlockIndex::erase_between(uint64_t lo, uint64_t hi) {
  for (uint32_t bi = block_of(lo); bi < blocks_.size();) {
    Block& b = *blocks_[bi];
    const uint32_t n = b.n;
    uint32_t i = static_cast<uint32_t>(std::upper_bound(b.key, b.key + n, lo) - b.key);
    uint32_t j = static_cast<uint32_t>(std::lower_bound(b.key + i, b.key + n, hi) - b.key);
    std::memmove(b.key + i, b.key + j, (n - j) * sizeof(uint64_t));
    std::memmove(b.val + i, b.val + j, (n - j) * sizeof(uint32_t));
    b.n -= j - i;
    if (b.n == 0 && blocks_.size() > 1) {
      remove_block(bi);
    } else {
      if (i == 0 && bi > 0 && b.n > 0) first_[bi] = b.key[0];
      ++bi;
    }
    if (j < n) break;  // the range ended inside this block
  }
}

bool BlockIndex::assign_in_block(uint64_t lo, uint64_t hi, uint32_t v) {
  const uint32_t bi = block_of(lo);
  Block& b = *blocks_[bi];
  const uint32_t n = b.n;
  const uint32_t i = static_cast<uint32_t>(std::upper_bound(b.key, b.key + n, lo) - b.key);      // first key > lo
  const uint32_t j = static_cast<uint32_t>(std::lower_bound(b.key + i, b.key + n, hi) - b.key);  // first key >= hi
  if (j == n && bi + 1 < blocks_.size() && first_[bi + 1] < hi) return false;  // keys to erase further on
  const uint32_t at = i > 0 && b.key[i - 1] == lo ? i - 1 : i;  // where lo goes
  // Below hi, the greatest key is in this block (block_of(lo) starts at or below lo) unless
  // there is none at all.
  const bool carry = (j == n || b.key[j] != hi) && j > 0 && (b.key[j - 1] >> 32) == (hi >> 32);
  const uint32_t carried = carry ? b.val[j - 1] : 0;
  const uint32_t rest = at + 1 + carry;  // where the keys from hi on go
  if (rest + (n - j) > kBlock) return false;
  std::memmove(b.key + rest, b.key + j, (n - j) * sizeof(uint64_t));
  std::memmove(b.val + rest, b.val + j, (n - j) * sizeof(uint32_t));
  b.key[at] = lo;
  b.val[at] = v;
  if (carry) {
    b.key[at + 1] = hi;
    b.val[at + 1] = carried;
  }
  b.n = rest + (n - j);
  return true;
}

size_t BlockIndex::memory_bytes() const {
  return first_.capacity() * sizeof(uint64_t) + blocks_.capacity() * sizeof(void*) +
         blocks_.size() * sizeof(Block);
}

TextTree::TextTree(const std::u16string* arena) : arena_(arena) {
  leaves_.emplace_back();
}

bool TextTree::first_run_empty() const { return leaves_[first_leaf_].n == 0; }

uint32_t TextTree::leaf_width(uint32_t leaf) const {
  uint32_t w = 0;
  const Leaf& l = leaves_[leaf];
  for (uint32_t i = 0; i < l.n; ++i) w += l.runs[i].visible();
  return w;
}

uint32_t TextTree::parent_of(uint32_t node, bool is_leaf) const {
  return is_leaf ? leaves_[node].parent : inners_[node].parent;
}

void TextTree::set_parent(uint32_t child, bool is_leaf, uint32_t parent) {
  if (is_leaf) leaves_[child].parent = parent;
  else inners_[child].parent = parent;
}

uint32_t TextTree::slot_in_parent(uint32_t parent, uint32_t child) const {
  const Inner& p = inners_[parent];
  for (uint32_t i = 0; i < p.n; ++i)
    if (p.child[i] == child) return i;
  assert(false && "child not in parent");
  return 0;
}

TreePos TextTree::find_visible(uint32_t pos) const {
  // Edits cluster: try the leaf of the previous lookup before descending from the root.
  if (cache_leaf_ != kNone && pos >= cache_start_) {
    const Leaf& l = leaves_[cache_leaf_];
    uint32_t rel = pos - cache_start_;
    uint32_t i = 0;
    if (rel >= cache_run_start_ && cache_run_ < l.n) {
      i = cache_run_;
      rel -= cache_run_start_;
    }
    for (; i < l.n; ++i) {
      uint32_t v = l.runs[i].visible();
      if (rel < v) {
        cache_run_ = i;
        cache_run_start_ = pos - cache_start_ - rel;
        return {cache_leaf_, i, rel};
      }
      rel -= v;
    }
  }
  const uint32_t target = pos;
  uint32_t node = root_;
  for (uint32_t h = height_; h > 0; --h) {
    const Inner& in = inners_[node];
    uint32_t i = 0;
    while (i + 1 < in.n && pos >= in.width[i]) pos -= in.width[i++];
    node = in.child[i];
  }
  const Leaf& l = leaves_[node];
  for (uint32_t i = 0; i < l.n; ++i) {
    uint32_t v = l.runs[i].visible();
    if (pos < v) {
      cache_leaf_ = node;
      cache_run_ = i;
      cache_run_start_ = position_in_leaf(node, i);
      cache_start_ = target - pos - cache_run_start_;
      return {node, i, pos};
    }
    pos -= v;
  }
  assert(false && "position past the end");
  return {node, l.n ? l.n - 1 : 0, 0};
}

uint32_t TextTree::index_lookup(uint32_t client, uint32_t clock) const {
  uint64_t found = 0;
  uint32_t leaf = index_.floor(key(client, clock), &found, kNone);
  return leaf != kNone && static_cast<uint32_t>(found >> 32) == client ? leaf : kNone;
}

TreePos TextTree::locate(Id id) const {
  // Merge speed: the runs found last (each, or the one after it). A peer's typing
  // arrives op after op with its left origin at the end of the run the previous op grew, and
  // the same right origin. Leaves are never freed and an id is in one run only, so a run of a
  // leaf that holds the id is the answer.
  for (Found& f : found_[id.client % kFound]) {
    if (f.leaf == kNone) continue;
    const Leaf& l = leaves_[f.leaf];
    for (uint32_t i = f.idx; i < l.n && i <= f.idx + 1; ++i)
      if (l.runs[i].contains(id)) {
        f.idx = i;
        return {f.leaf, i, id.clock - l.runs[i].clock};
      }
  }
  sync_index();
  uint32_t leaf = index_lookup(id.client, id.clock);
  if (leaf != kNone) {
    const Leaf& l = leaves_[leaf];
    for (uint32_t i = 0; i < l.n; ++i)
      if (l.runs[i].contains(id)) {
        Found* ways = found_[id.client % kFound];  // merge speed (issue 8)
        ways[1] = ways[0];
        ways[0] = {leaf, i};
        return {leaf, i, id.clock - l.runs[i].clock};
      }
  }
  return {kNone, 0, 0};
}

bool TextTree::contains(Id id) const { return locate(id).leaf != kNone; }

bool TextTree::first_run(uint32_t* leaf, uint32_t* idx) const {
  if (leaves_[first_leaf_].n == 0) return false;
  *leaf = first_leaf_;
  *idx = 0;
  return true;
}

bool TextTree::next_run(uint32_t* leaf, uint32_t* idx) const {
  if (*idx + 1 < leaves_[*leaf].n) {
    ++*idx;
    return true;
  }
  uint32_t next = leaves_[*leaf].next;
  while (next != kNone && leaves_[next].n == 0) next = leaves_[next].next;
  if (next == kNone) return false;
  *leaf = next;
  *idx = 0;
  return true;
}

uint32_t TextTree::position_in_leaf(uint32_t leaf, uint32_t idx) const {
  uint32_t pos = 0;
  for (uint32_t i = 0; i < idx; ++i) pos += leaves_[leaf].runs[i].visible();
  return pos;
}

uint32_t TextTree::position_of(uint32_t leaf, uint32_t idx) const {
  uint32_t pos = 0;
  const Leaf& l = leaves_[leaf];
  for (uint32_t i = 0; i < idx; ++i) pos += l.runs[i].visible();
  uint32_t child = leaf;
  uint32_t parent = l.parent;
  while (parent != kNone) {
    const Inner& in = inners_[parent];
    for (uint32_t i = 0; in.child[i] != child; ++i) pos += in.width[i];
    child = parent;
    parent = in.parent;
  }
  return pos;
}

void TextTree::add_width(uint32_t leaf, int64_t delta) {
  if (leaf != cache_leaf_) cache_leaf_ = kNone;  // positions after `leaf` moved
  total_width_ = static_cast<uint32_t>(total_width_ + delta);
  if (leaf == path_leaf_ && path_shape_ == shape_) {
    for (uint32_t k = 0; k < path_len_; ++k) *path_width_[k] = static_cast<uint32_t>(*path_width_[k] + delta);
    return;
  }
  path_leaf_ = leaf;
  path_shape_ = shape_;
  path_len_ = 0;
  uint32_t child = leaf;
  uint32_t parent = leaves_[leaf].parent;
  while (parent != kNone) {
    Inner& in = inners_[parent];
    uint32_t s = 0;
    while (in.child[s] != child) ++s;
    in.width[s] = static_cast<uint32_t>(in.width[s] + delta);
    if (path_len_ < kMaxHeight) {
      path_width_[path_len_++] = &in.width[s];
    } else {
      path_leaf_ = kNone;  // deeper than any tree of 2^32 elements: never cached
    }
    child = parent;
    parent = in.parent;
  }
}

// --- id index -------------------------------------------------------------------------------

void TextTree::index_place(uint32_t client, uint32_t clock, uint32_t len, uint32_t leaf, bool moved) const {
  if (!moved && client == hint_client_ && clock == hint_clock_ && leaf == hint_leaf_) {
    hint_clock_ = clock + len;
    return;
  }
  uint64_t start = key(client, clock), end = key(client, clock + len);
  if (moved) {
    // Existing clocks: keep what follows the range, and drop entries inside it.
    if (index_.assign_in_block(start, end, leaf)) return;  // load speed (issue 8)
    uint32_t after = index_lookup(client, clock + len);
    index_.erase_between(start, end);
    if (after != kNone && index_.ceil_key(end) != end) index_.set(end, after);
  } else if (index_lookup(client, clock) == leaf) {
    // New clocks continue an entry that already points here.
    uint64_t next = index_.ceil_key(end);
    bool last = next == BlockIndex::kNoKey || static_cast<uint32_t>(next >> 32) != client;
    hint_client_ = client;
    hint_clock_ = clock + len;
    hint_leaf_ = last ? leaf : kNone;
    return;
  }
  index_.set(start, leaf);
  // The hint is only valid while no entry of this client lies at or after its clock.
  uint64_t next = index_.ceil_key(end);
  bool last = next == BlockIndex::kNoKey || static_cast<uint32_t>(next >> 32) != client;
  hint_client_ = client;
  hint_clock_ = clock + len;
  hint_leaf_ = last ? leaf : kNone;
}

// --- structure ------------------------------------------------------------------------------

void TextTree::insert_child(uint32_t parent, uint32_t after_child, uint32_t new_child,
                            bool is_leaf, uint32_t width) {
  ++shape_;  // slots move: add_width's cached path expires
  if (parent == kNone) {  // after_child was the root: grow a level
    uint32_t r = static_cast<uint32_t>(inners_.size());
    inners_.emplace_back();
    Inner& in = inners_[r];
    in.leaf_children = is_leaf;
    in.n = 2;
    in.child[0] = after_child;
    in.child[1] = new_child;
    in.width[0] = total_width_ - width;
    in.width[1] = width;
    set_parent(after_child, is_leaf, r);
    set_parent(new_child, is_leaf, r);
    root_ = r;
    ++height_;
    return;
  }
  if (inners_[parent].n == kInnerCap) {
    // Split the parent in halves, then insert into the half that holds after_child.
    uint32_t right = static_cast<uint32_t>(inners_.size());
    inners_.emplace_back();
    Inner& p = inners_[parent];
    Inner& q = inners_[right];
    q.leaf_children = p.leaf_children;
    const uint32_t half = kInnerCap / 2;
    uint32_t moved = 0;
    for (uint32_t i = half; i < kInnerCap; ++i) {
      q.child[i - half] = p.child[i];
      q.width[i - half] = p.width[i];
      moved += p.width[i];
    }
    q.n = kInnerCap - half;
    p.n = half;
    for (uint32_t i = 0; i < q.n; ++i) set_parent(inners_[right].child[i], is_leaf, right);
    insert_child(inners_[parent].parent, parent, right, false, moved);
    if (parent_of(after_child, is_leaf) == right) parent = right;
  }
  Inner& p = inners_[parent];
  uint32_t s = slot_in_parent(parent, after_child);
  for (uint32_t i = p.n; i > s + 1; --i) {
    p.child[i] = p.child[i - 1];
    p.width[i] = p.width[i - 1];
  }
  p.child[s + 1] = new_child;
  p.width[s + 1] = width;
  p.width[s] -= width;
  ++p.n;
  set_parent(new_child, is_leaf, parent);
}

uint32_t TextTree::split_leaf(uint32_t leaf) {
  cache_leaf_ = kNone;
  uint32_t right = static_cast<uint32_t>(leaves_.size());
  leaves_.emplace_back();
  Leaf& l = leaves_[leaf];
  Leaf& r = leaves_[right];
  const uint32_t half = l.n / 2;
  uint32_t moved_width = 0;
  for (uint32_t i = half; i < l.n; ++i) {
    r.runs[i - half] = l.runs[i];
    moved_width += l.runs[i].visible();
  }
  r.n = l.n - half;
  l.n = half;
  r.prev = leaf;
  r.next = l.next;
  if (l.next != kNone) leaves_[l.next].prev = right;
  l.next = right;
  hint_leaf_ = kNone;  // the hinted run may have moved
  reindex_.push_back(right);
  insert_child(leaves_[leaf].parent, leaf, right, true, moved_width);
  return right;
}

void TextTree::reindex_leaves() const {
  for (uint32_t leaf : reindex_) index_moved(leaf, 0, leaves_[leaf].n);
  reindex_.clear();
}

void TextTree::index_moved(uint32_t leaf, uint32_t i, uint32_t end) const {
  hint_leaf_ = kNone;
  const Leaf& l = leaves_[leaf];
  // Runs split from one another have consecutive clocks: index each such stretch once.
  while (i < end) {
    uint32_t client = l.runs[i].client, clock = l.runs[i].clock, stop = clock + l.runs[i].len;
    for (++i; i < end && l.runs[i].client == client && l.runs[i].clock == stop; ++i) stop += l.runs[i].len;
    index_place(client, clock, stop - clock, leaf, true);
  }
  hint_leaf_ = kNone;
}


void TextTree::ensure_room(uint32_t* leaf, uint32_t* idx) {
  if (leaves_[*leaf].n < kLeafCap) return;
  uint32_t left_n = leaves_[*leaf].n / 2;
  uint32_t right = split_leaf(*leaf);
  if (*idx >= left_n) {
    *leaf = right;
    *idx -= left_n;
  }
}

void TextTree::split_before(Id id) {
  TreePos p = locate(id);
  if (p.leaf == kNone || p.off == 0) return;
  split_at(p);
}

TreePos TextTree::split_at(TreePos p) {
  if (p.off == 0) return p;
  ++edits_;
  ensure_room(&p.leaf, &p.idx);
  Leaf& l = leaves_[p.leaf];
  Run& left = l.runs[p.idx];
  Run right = left;
  right.clock += p.off;
  right.len -= p.off;
  if (right.content != kNoContent) right.content += p.off;
  left.len = p.off;
  std::memmove(&l.runs[p.idx + 2], &l.runs[p.idx + 1], (l.n - p.idx - 1) * sizeof(Run));
  l.runs[p.idx + 1] = right;
  ++l.n;
  run_changed(p.leaf, p.idx + 1, true);
  return {p.leaf, p.idx + 1, 0};
}

TreePos TextTree::insert_after(uint32_t leaf, uint32_t idx, const Run& r) {
  ++edits_;
  uint32_t at;
  if (leaf == kNone) {
    leaf = first_leaf_;
    idx = 0;
    ensure_room(&leaf, &idx);
    at = 0;
  } else {
    ensure_room(&leaf, &idx);
    at = idx + 1;
  }
  Leaf& l = leaves_[leaf];
  std::memmove(&l.runs[at + 1], &l.runs[at], (l.n - at) * sizeof(Run));
  l.runs[at] = r;
  ++l.n;
  run_changed(leaf, at, true);
  index_place(r.client, r.clock, r.len, leaf, false);
  if (!r.deleted) add_width(leaf, r.len);
  return {leaf, at, 0};
}

void TextTree::extend_run(uint32_t leaf, uint32_t idx, uint32_t n) {
  ++edits_;
  Run& r = leaves_[leaf].runs[idx];
  uint32_t clock = r.clock + r.len;
  r.len += n;
  run_changed(leaf, idx, false);
  index_place(r.client, clock, n, leaf, false);
  if (!r.deleted) add_width(leaf, n);
}

void TextTree::mark_deleted(uint32_t leaf, uint32_t idx) {
  ++edits_;
  Run& r = leaves_[leaf].runs[idx];
  assert(!r.deleted);
  r.deleted = true;
  run_changed(leaf, idx, false);
  add_width(leaf, -static_cast<int64_t>(r.len));
}

void TextTree::append_content(std::u16string* out) const {
  out->reserve(out->size() + total_width_);
  for (uint32_t leaf = first_leaf_; leaf != kNone; leaf = leaves_[leaf].next) {
    const Leaf& l = leaves_[leaf];
    for (uint32_t i = 0; i < l.n; ++i)
      if (!l.runs[i].deleted) out->append(arena_->data() + l.runs[i].content, l.runs[i].len);
  }
}

size_t TextTree::memory_bytes() const {
  return leaves_.memory_bytes() + inners_.memory_bytes() + index_.memory_bytes() +
         reindex_.capacity() * sizeof(uint32_t);
}

size_t TextTree::run_total() const {
  size_t n = 0;
  for (uint32_t leaf = first_leaf_; leaf != kNone; leaf = leaves_[leaf].next) n += leaves_[leaf].n;
  return n;
}

}  // namespace roomsync
