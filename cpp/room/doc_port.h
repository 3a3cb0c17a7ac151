// The room core's view of a document: the sync operations it needs, nothing else.
// DocAdapter implements it over the engine's Doc (cpp/crdt); tests and bindings may bring
// their own (e.g. to observe what was applied).
#pragma once

#include <cstdint>
#include <vector>

#include "crdt/doc.h"

namespace roomsync::room {

class DocPort {
 public:
  virtual ~DocPort() = default;
  virtual ClientId client_id() const = 0;
  virtual std::vector<uint8_t> state_vector() const = 0;
  virtual Status encode_state_since(const uint8_t* sv, size_t len, std::vector<uint8_t>* out) const = 0;
  // Must leave the document unchanged when it fails.
  virtual Status apply_update(const uint8_t* data, size_t len) = 0;
  // Ops held back waiting for missing parents (Doc::pending_ops).
  virtual size_t held_ops() const = 0;
};

class DocAdapter final : public DocPort {
 public:
  explicit DocAdapter(Doc& doc) : doc_(doc) {}
  ClientId client_id() const override { return doc_.client_id(); }
  std::vector<uint8_t> state_vector() const override { return doc_.state_vector(); }
  Status encode_state_since(const uint8_t* sv, size_t len, std::vector<uint8_t>* out) const override {
    return doc_.encode_state_since(sv, len, out);
  }
  Status apply_update(const uint8_t* data, size_t len) override { return doc_.apply_update(data, len); }
  size_t held_ops() const override { return doc_.pending_ops(); }

 private:
  Doc& doc_;
};

}  // namespace roomsync::room
