// The sequence of one Text root: a B-tree over runs of consecutively inserted characters.
//
// Each run is a span of UTF-16 code units inserted by one client with consecutive clocks
// (one run per burst of typing). Inner nodes keep the visible width of each child, so a
// visible position is found in O(log n); a per-tree index maps ids to leaves so remote ops
// find their origins in O(log n). Deleted runs stay as tombstones (no content needed).
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "crdt/ids.h"

namespace roomsync {

constexpr uint32_t kNoContent = 0xffffffffu;

// Its origins (left of the first element, right shared by all) are those of the op that
// inserted it: the op log keeps them (DocImpl::origin_left / origin_right), not every run.
struct Run {
  uint32_t client;   // client index
  uint32_t clock;    // clock of the first element
  uint32_t len;      // UTF-16 code units
  uint32_t content;  // offset into the document's arena, or kNoContent (tombstone only)
  bool deleted;
  uint32_t visible() const { return deleted ? 0 : len; }
  Id id_at(uint32_t off) const { return Id{client, clock + off}; }
  bool contains(Id id) const {
    return id.client == client && id.clock >= clock && id.clock - clock < len;
  }
};

// A place in the tree: run `idx` of leaf `leaf`, element `off` inside it.
struct TreePos {
  uint32_t leaf;
  uint32_t idx;
  uint32_t off;
};

// Sorted (key -> value) pairs in blocks of up to kBlock, found through the blocks' first keys: a
// two-level B-tree. 12 bytes an entry (blocks are half to fully used) where a std::map node took
// about 40, and growing never copies more than one block and the block table.
class BlockIndex {
 public:
  static constexpr uint64_t kNoKey = ~uint64_t{0};
  BlockIndex();
  // Value of the greatest key <= k (that key in *found), or `none` when there is none.
  uint32_t floor(uint64_t k, uint64_t* found, uint32_t none) const;
  uint64_t ceil_key(uint64_t k) const;  // the smallest key >= k, or kNoKey
  void set(uint64_t k, uint32_t v);
  void erase_between(uint64_t lo, uint64_t hi);  // every key in (lo, hi)
  // Maps [lo, hi) to v and keeps what the keys from hi on map to: the greatest key below hi,
  // when it has hi's upper 32 bits (one client's clocks), is carried over to hi. The same as
  // erase_between(lo, hi), set(hi, that value) and set(lo, v), in one search (load speed,
  // issue 8: runs moved by leaf splits); false, changing nothing, when that would take more
  // than the block holding lo.
  bool assign_in_block(uint64_t lo, uint64_t hi, uint32_t v);
  size_t memory_bytes() const;

 private:
  static constexpr uint32_t kBlock = 64;
  struct Block {
    uint32_t n = 0;
    uint64_t key[kBlock];
    uint32_t val[kBlock];
  };
  uint32_t block_of(uint64_t k) const;  // the last block whose first key is <= k (else 0)
  void remove_block(uint32_t b);
  std::vector<uint64_t> first_;  // first key of each block (first_[0] is not used)
  std::vector<std::unique_ptr<Block>> blocks_;
};

// Memory: nodes in fixed chunks: growing never copies the nodes (no peak with
// two arrays alive) and leaves at most one chunk unused. For trivially destructible T.
class ChunkList {
 protected:
  // Room for node n (the next one) of `size` bytes, kChunk of them to a chunk.
  void* slot(uint32_t n, size_t size, uint32_t chunk);
  std::vector<std::unique_ptr<unsigned char[]>> chunks_;
};
template <class T, uint32_t kChunk>
class Chunked : ChunkList {
 public:
  T& operator[](uint32_t i) { return reinterpret_cast<T*>(chunks_[i / kChunk].get())[i % kChunk]; }
  const T& operator[](uint32_t i) const { return reinterpret_cast<const T*>(chunks_[i / kChunk].get())[i % kChunk]; }
  uint32_t size() const { return n_; }
  void emplace_back() {
    new (slot(n_, sizeof(T), kChunk)) T();
    ++n_;
  }
  size_t memory_bytes() const { return chunks_.capacity() * sizeof(void*) + chunks_.size() * kChunk * sizeof(T); }

 private:
  uint32_t n_ = 0;
};

class TextTree {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;

  explicit TextTree(const std::u16string* arena);

  uint32_t length() const { return total_width_; }
  bool empty() const { return first_run_empty(); }

  // Visible element at `pos` (0 <= pos < length()).
  TreePos find_visible(uint32_t pos) const;
  // Element with id `id`; the id must be in this tree.
  TreePos locate(Id id) const;
  bool contains(Id id) const;

  const Run& run(uint32_t leaf, uint32_t idx) const { return leaves_[leaf].runs[idx]; }
  uint32_t run_count(uint32_t leaf) const { return leaves_[leaf].n; }
  uint32_t first_leaf() const { return first_leaf_; }
  uint32_t next_leaf(uint32_t leaf) const { return leaves_[leaf].next; }

  // Next run after (leaf, idx), skipping empty leaves; false at the end.
  bool next_run(uint32_t* leaf, uint32_t* idx) const;
  // First run of the document; false when empty.
  bool first_run(uint32_t* leaf, uint32_t* idx) const;

  // Ensure a run starts at `id` (splitting the run containing it).
  void split_before(Id id);
  // Splits the run at p so that p.off starts a run; returns where that element now is.
  TreePos split_at(TreePos p);
  // Inserts `r` right after run (leaf, idx), or at the very start when leaf == kNone.
  // Returns where it landed.
  TreePos insert_after(uint32_t leaf, uint32_t idx, const Run& r);
  // Grows run (leaf, idx) by `n` elements with the next clocks (the typing fast path).
  void extend_run(uint32_t leaf, uint32_t idx, uint32_t n);
  // Marks run (leaf, idx) deleted; it must not be deleted already.
  void mark_deleted(uint32_t leaf, uint32_t idx);

  // Typing: a keystroke right after the previous one grows the same run without
  // looking anything up. note_typing records the run the local edit just grew or inserted and
  // the visible position after it; typing_run gives that run's last element again while `pos`
  // is that position and the tree is unchanged since.
  void note_typing(uint32_t leaf, uint32_t idx, uint32_t end) {
    typing_leaf_ = leaf;
    typing_idx_ = idx;
    typing_end_ = end;
    typing_edits_ = edits_;
  }
  bool typing_run(uint32_t pos, TreePos* at) const {
    if (typing_edits_ != edits_ || pos != typing_end_) return false;
    *at = {typing_leaf_, typing_idx_, run(typing_leaf_, typing_idx_).len - 1};
    return true;
  }

  // Visible position of the first element of run (leaf, idx).
  uint32_t position_of(uint32_t leaf, uint32_t idx) const;

  void append_content(std::u16string* out) const;
  size_t memory_bytes() const;
  size_t run_total() const;  // runs in the tree (walks the leaves)

 private:
  static constexpr uint32_t kLeafCap = 32;
  static constexpr uint32_t kInnerCap = 16;

  struct Leaf {
    uint32_t parent = kNone;
    uint32_t prev = kNone, next = kNone;
    uint32_t n = 0;
    Run runs[kLeafCap];
  };
  struct Inner {
    uint32_t parent = kNone;
    uint32_t n = 0;
    bool leaf_children = true;
    uint32_t child[kInnerCap];
    uint32_t width[kInnerCap];
  };

  bool first_run_empty() const;
  uint32_t leaf_width(uint32_t leaf) const;
  uint32_t position_in_leaf(uint32_t leaf, uint32_t idx) const;
  uint32_t slot_in_parent(uint32_t parent, uint32_t child) const;
  void add_width(uint32_t leaf, int64_t delta);
  // Makes room in a full leaf; (leaf, idx) is updated to where that run now lives.
  void ensure_room(uint32_t* leaf, uint32_t* idx);
  uint32_t split_leaf(uint32_t leaf);  // returns the new right sibling
  void insert_child(uint32_t parent, uint32_t after_child, uint32_t new_child, bool is_leaf,
                    uint32_t width);
  void set_parent(uint32_t child, bool is_leaf, uint32_t parent);
  uint32_t parent_of(uint32_t node, bool is_leaf) const;
  // Records that clocks [clock, clock + len) of `client` now live in `leaf`: clocks new to
  // the tree (moved == false) or runs that moved between leaves.
  void index_place(uint32_t client, uint32_t clock, uint32_t len, uint32_t leaf, bool moved) const;
  uint32_t index_lookup(uint32_t client, uint32_t clock) const;
  // Records that runs [i, end) of `leaf` moved there from another leaf.
  void index_moved(uint32_t leaf, uint32_t i, uint32_t end) const;
  // Tells the id index where the runs of the leaves in reindex_ went (before any id lookup).
  void sync_index() const {
    if (!reindex_.empty()) reindex_leaves();
  }
  void reindex_leaves() const;
  static uint64_t key(uint32_t client, uint32_t clock) {
    return (uint64_t{client} << 32) | clock;
  }

  const std::u16string* arena_;
  Chunked<Leaf, 16> leaves_;
  Chunked<Inner, 16> inners_;
  uint32_t root_ = 0;          // a leaf when height_ == 0, else an inner node
  uint32_t height_ = 0;
  uint32_t first_leaf_ = 0;
  uint32_t total_width_ = 0;
  // (client, clock) -> leaf holding that clock; an entry covers clocks up to the next entry.
  // Only id lookups (remote ops, sticky positions, undo) read it, so the runs a leaf split
  // moves are re-indexed when the next lookup comes (reindex_), not at every split: typing
  // alone never pays for it, and a lookup pays at most once per leaf for all splits before it.
  mutable BlockIndex index_;
  mutable std::vector<uint32_t> reindex_;  // leaves made by splits since the last lookup
  // The leaf of the last position lookup and the visible position where it starts.
  mutable uint32_t cache_leaf_ = kNone;
  mutable uint32_t cache_start_ = 0;
  // ...and in that leaf, the run found and where it starts within the leaf: typing finds the
  // same run again and again (valid while nothing changed before it: see run_changed).
  mutable uint32_t cache_run_ = 0, cache_run_start_ = 0;
  // Run idx of leaf changed width, or (inserted) a run was inserted at idx.
  void run_changed(uint32_t leaf, uint32_t idx, bool inserted) {
    if (leaf == cache_leaf_ && (inserted ? idx <= cache_run_ : idx < cache_run_)) cache_run_ = cache_run_start_ = 0;
  }
  // The inner nodes and slots from the last leaf add_width updated up to the root: typing
  // changes one leaf's width again and again, and finding each slot by scanning cost the most.
  // Valid while no child was inserted anywhere (shape_ counts insertions).
  static constexpr uint32_t kMaxHeight = 16;
  uint32_t path_leaf_ = kNone, path_len_ = 0, path_shape_ = 0, shape_ = 1;
  uint32_t* path_width_[kMaxHeight];  // &width of the slot at each level (nodes never move)
  // Changes to the tree so far (typing_run is valid while none came after note_typing).
  uint64_t edits_ = 0, typing_edits_ = ~uint64_t{0};  // 64 bits: never wraps onto a stale note
  uint32_t typing_leaf_ = kNone, typing_idx_ = 0, typing_end_ = 0;
  // Merge speed: where locate found an id last (checked before it is trusted)
  struct Found {
    uint32_t leaf = kNone, idx = 0;
  };
  static constexpr uint32_t kFound = 4;  // by client index, two ways each
  mutable Found found_[kFound][2];
  // Typing appends to the same leaf: skip the map while that stays true.
  mutable uint32_t hint_client_ = kNoClient, hint_clock_ = 0, hint_leaf_ = kNone;
};

}  // namespace roomsync
