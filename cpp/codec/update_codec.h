// The binary update format (version 1). All integers are LEB128 varints.
//
//   update   := 'R' version(=1) clients roots sections
//   clients  := n, n x client_id                 (53-bit ids; ops refer to them by index)
//   roots    := n, n x (type byte, name string)  (ops refer to roots by index; type as RootType,
//               List = 5 since lists, which older readers refuse)
//   sections := n, n x (client index, start clock, op count, ops...)   ops are clock-contiguous
//               (issue 8: this encoder cuts the writers' logs into sections in causal order, each
//               op after the ops it refers to, so a load integrates op by op; any order loads)
//   op       := tag byte (kind in bits 0-2, root index in bits 3-6 with 15 = varint follows,
//               bit 7 = a flag whose meaning depends on the kind) + payload by kind:
//     insert        left-id right-id wtf8-string        (its length in UTF-16 units = clock span)
//                   (in a List root: count, count x json-string; one clock per element)
//     insert-gone   left-id right-id length             (already deleted: no content travels)
//                   with bit 7: continues the previous insert of the section (same root and
//                   right origin, left origin = the clock before), so no root or origins follow
//     delete-fwd/bwd target-id [length]
//                   (clock + i deletes target + i / + len-1-i; bit 7: length is 1, not written)
//     map-set       key-string json-string lamport
//     map-delete    key-string lamport
//     counter       zigzag delta
//     nop           length                             (keeps the clocks of an op we dropped)
//   id       := 0 (none) | odd 1+2d (same client as the op, clock = op clock - 1 - d)
//               | even 2+2k (client index k) followed by its clock
//   right-id := 0 (none) | 1 (left origin's clock + 1, same client) | id code + 1
//
// The compact form: what one local transaction of one text insert or one delete
// sends (a keystroke). Self-contained like version 1 and decoded into the same DecodedUpdate;
// a first byte with bit 7 set tells it apart ('R' has it clear; version 1 stays as it is).
//   compact  := head name client clock code [left c-id] [inline id] [length] [content]
//   head     := 1ttt llll   ttt = root type - 1 (Text, or List for a delete); llll = root name
//               length, 15 = varint (length - 15) follows; then the name's bytes
//   client   := 7 bytes, little-endian: bits 0-52 the client id (as a varint a random one takes
//               8 bytes), bits 53-54 the form, bit 55 "a length follows":
//     form 0  insert after our own clock - 1 (typing on)   code = right-id
//     form 1  insert, its left origin's c-id follows      code = right-id
//     form 2  delete forward, 3 backward                   code = the first target's c-id
//   clock    := varint, the op's first clock
//   c-id     := 0 (none) | odd 1+2d (own client, clock - 1 - d) | 2 (another client: its 7-byte
//               id and a clock varint follow; the left origin's right after its code, the
//               code's after that)
//   right-id := as in version 1, over c-id codes
//   An insert's text is WTF-8: without "a length follows" it is one UTF-16 unit running to the
//   end, with it a string (varint byte length, bytes). A delete's length is 1, or a varint with
//   "a length follows". Nothing may follow; so a truncated update never decodes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crdt/doc.h"
#include "crdt/doc_impl.h"

namespace roomsync {

constexpr uint8_t kUpdateMagic = 'R';
constexpr uint8_t kUpdateVersion = 1;

struct DecodedUpdate {
  struct RootDecl {
    RootType type;
    std::string name;
  };
  std::vector<ClientId> clients;
  std::vector<RootDecl> roots;
  // (decode_update empties the tables first: one DecodedUpdate serves update after update
  // without allocating.)
};

// Load: ops are decoded one at a time, never all held at once.
// Receives each op in update terms (`client`, id clients and `root` index the tables above) in
// one RemoteOp that is reused: keep what you need by moving it out. A failed Status stops the
// decoding and is returned.
// (A reference to the caller's callable: no std::function machinery in the wasm.)
class OpVisitor {
 public:
  template <class F>
  OpVisitor(F& f) : obj_(&f), call_([](void* o, RemoteOp& op) { return (*static_cast<F*>(o))(op); }) {}
  Status operator()(RemoteOp& op) const { return call_(obj_, op); }

 private:
  void* obj_;
  Status (*call_)(void*, RemoteOp&);
};
// Checks what can be checked op by op without the document: bounds, ranges, UTF-8, JSON, op
// kinds against root types, causality (an op refers to earlier clocks only). That one client's
// ops never overlap is the visitor's to check (apply_update does). Fills `out` with the tables
// before the first op is visited (emptied first: it may be reused). On failure `out` is
// unspecified, and some ops were visited.
Status decode_update(const uint8_t* data, size_t len, DecodedUpdate* out, const OpVisitor& visit);
// Merge speed: a compact update (len > 0, the first byte has bit 7 set) decoded
// into its tables and its one op, checked as decode_update checks it (which calls this); `op`
// may be reused from update to update (its strings keep their capacity).
Status decode_compact_update(const uint8_t* data, size_t len, DecodedUpdate* out, RemoteOp* op);
// The version-1 form of a compact update (the first byte has bit 7 set): what decode_update
// must read from the compact bytes, op for op. For the tests and the update fuzzer, which hold
// the compact decoder to it; decode_update reads the compact form directly.
Status compact_update_as_v1(const uint8_t* data, size_t len, std::vector<uint8_t>* v1);

}  // namespace roomsync
