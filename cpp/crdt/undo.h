// Undo and redo of a replica's own changes.
//
// A step is what one or more local transactions changed, in terms that survive concurrent
// edits: the element ids a step inserted and deleted (per sequence root), the values its map
// and register writes overwrote, the sum of its counter steps. Undoing a step is a new local
// transaction (an ordinary change for every other replica, no protocol of its own):
//  * its deleted elements come back as new elements placed right after their own tombstones,
//    so they reappear between the same neighbours even after concurrent inserts around them;
//  * its inserted elements are deleted, only those (text a peer typed inside stays), following
//    them to the copies an earlier undo made of them;
//  * each key it wrote gets its previous value back (or is deleted if it had none), unless a
//    later write (a peer's, or another change here) has replaced this step's value since;
//  * counters get the opposite step.
// What the revert itself changed is recorded the same way and becomes the step on the other
// stack (undo pushes onto redo and back). The core decides nothing about time or origins: the
// caller (js/undo.js) says which transactions are tracked and when steps merge.
#pragma once

#include <cstdint>
#include <vector>

#include "crdt/doc.h"

namespace roomsync {

struct UndoStep;

class UndoManager {
 public:
  // Tracks changes to the roots in `scope` (every root of the document when empty). It must
  // not outlive `doc`.
  explicit UndoManager(Doc& doc, std::vector<RootHandle> scope = {});
  ~UndoManager();
  UndoManager(const UndoManager&) = delete;
  UndoManager& operator=(const UndoManager&) = delete;

  // capture() result bits.
  enum : int { kAdded = 1, kMerged = 2, kRedoCleared = 4 };
  // Records the local changes of the transaction that committed last (call it after commit)
  // within scope, as a new step or, with `merge`, into the top step (a new one if there is
  // none). A captured change clears the redo stack. Returns 0 when nothing was in scope (or it
  // was captured already), else kAdded or kMerged, plus kRedoCleared.
  int capture(bool merge);

  // Reverts the top step of the undo (redo) stack inside the open transaction, or in one of its
  // own, and pushes the revert onto the redo (undo) stack. A step whose revert changes nothing
  // (peers replaced all of it) is dropped and the next one is tried. `*changed` says whether
  // the document changed. Fails only when this replica's clock space is exhausted; then
  // nothing changes.
  Status undo(bool* changed = nullptr) { return apply(false, changed); }
  Status redo(bool* changed = nullptr) { return apply(true, changed); }

  size_t undo_size() const;
  size_t redo_size() const;
  void clear(bool undo_stack, bool redo_stack);

 private:
  DocImpl& impl() const { return *doc_.impl_; }
  bool in_scope(RootHandle h) const;
  UndoStep record(uint32_t from, uint32_t to) const;
  Status apply(bool redo, bool* changed);
  void revert(UndoStep& step);
  void restore(RootHandle h, uint32_t client, uint32_t clock, uint32_t len);
  void remove(RootHandle h, uint32_t client, uint32_t clock, uint32_t len);

  Doc& doc_;
  std::vector<RootHandle> scope_;  // sorted
  std::vector<UndoStep> undo_, redo_;
  uint32_t captured_until_ = 0;  // own clocks below this are captured (or were undo/redo)
};

}  // namespace roomsync
