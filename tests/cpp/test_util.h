// Small helpers shared by the roomsync core tests.
#pragma once

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "crdt/doc.h"

namespace Catch {
template <>
struct StringMaker<std::u16string> {
  static std::string convert(const std::u16string& s) {
    std::string u = roomsync::utf16_to_utf8(s);
    if (u.size() > 400) u = u.substr(0, 200) + "…(" + std::to_string(s.size()) + " units)…" + u.substr(u.size() - 200);
    return "u\"" + u + "\"";
  }
};
}  // namespace Catch

namespace roomsync_test {

using Bytes = std::vector<uint8_t>;

// Appends `v` as an unsigned LEB128 varint: tests hand-make update bytes with it, written apart
// from the encoder under test.
inline void leb(Bytes& o, uint64_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    o.push_back(static_cast<uint8_t>(b | (v ? 0x80 : 0)));
  } while (v);
}

inline std::u16string U(const char* utf8) { return roomsync::utf8_to_utf16(utf8); }
inline std::string u8(const std::u16string& s) { return roomsync::utf16_to_utf8(s); }

inline roomsync::Status apply_upd(roomsync::Doc& d, const Bytes& b) {
  return d.apply_update(b.data(), b.size());
}

inline roomsync::RootHandle root_of(roomsync::Doc& d, roomsync::RootType t, const char* name) {
  roomsync::RootHandle h = 0;
  roomsync::Status st = d.root(t, name, &h);
  INFO("root(" << name << "): " << st.message);
  REQUIRE(st.ok);
  return h;
}

inline roomsync::RootHandle text_of(roomsync::Doc& d, const char* name = "text") {
  return root_of(d, roomsync::RootType::Text, name);
}

inline Bytes since(const roomsync::Doc& d, const Bytes& sv) {
  Bytes out;
  roomsync::Status st = d.encode_state_since(sv.data(), sv.size(), &out);
  INFO("encode_state_since: " << st.message);
  REQUIRE(st.ok);
  return out;
}

inline Bytes empty_sv() {
  roomsync::Doc d(0x5eed);
  return d.state_vector();
}

inline bool valid_utf16(const std::u16string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    char16_t c = s[i];
    if (c >= 0xD800 && c <= 0xDBFF) {
      if (i + 1 >= s.size() || s[i + 1] < 0xDC00 || s[i + 1] > 0xDFFF) return false;
      ++i;
    } else if (c >= 0xDC00 && c <= 0xDFFF) {
      return false;
    }
  }
  return true;
}

// Applies a Quill-style delta to `s`; false if it does not fit.
inline bool apply_delta(std::u16string& s, const std::vector<roomsync::TextDeltaOp>& delta) {
  size_t pos = 0;
  for (const auto& op : delta) {
    switch (op.kind) {
      case roomsync::TextDeltaOp::Retain:
        if (pos + op.length > s.size()) return false;
        pos += op.length;
        break;
      case roomsync::TextDeltaOp::Insert:
        if (op.length != op.text.size()) return false;
        s.insert(pos, op.text);
        pos += op.text.size();
        break;
      case roomsync::TextDeltaOp::Delete:
        if (pos + op.length > s.size()) return false;
        s.erase(pos, op.length);
        break;
    }
  }
  return true;
}

// Applies a list delta (counts of elements, inserted values) to `v`; false if it does not fit.
inline bool apply_list_delta(std::vector<std::string>& v, const std::vector<roomsync::ListDeltaOp>& delta) {
  size_t pos = 0;
  for (const auto& op : delta) {
    if (op.kind != roomsync::TextDeltaOp::Insert && pos + op.length > v.size()) return false;
    switch (op.kind) {
      case roomsync::TextDeltaOp::Retain:
        pos += op.length;
        break;
      case roomsync::TextDeltaOp::Insert:
        if (op.length != op.values.size() || op.length == 0) return false;
        v.insert(v.begin() + static_cast<long>(pos), op.values.begin(), op.values.end());
        pos += op.length;
        break;
      case roomsync::TextDeltaOp::Delete:
        if (op.length == 0) return false;
        v.erase(v.begin() + static_cast<long>(pos), v.begin() + static_cast<long>(pos + op.length));
        break;
    }
  }
  return true;
}

// Everything visible in a document, root by root, keyed "<type>:<name>" so that replicas that
// created their roots in a different order still compare equal.
using DocView = std::map<std::string, std::string>;

inline DocView view_of(const roomsync::Doc& d) {
  DocView v;
  for (const auto& r : d.roots()) {
    std::ostringstream os;
    switch (r.type) {
      case roomsync::RootType::Text: {
        std::u16string t = d.text_content(r.handle);
        os << "len=" << d.text_length(r.handle) << " units=" << t.size() << " text=" << u8(t);
        v["text:" + r.name] = os.str();
        break;
      }
      case roomsync::RootType::Map: {
        for (const auto& k : d.map_keys(r.handle)) {
          auto val = d.map_get(r.handle, k);
          os << k << "=" << (val ? *val : std::string("<none>")) << (d.map_has(r.handle, k) ? "" : "<!has>")
             << "\n";
        }
        v["map:" + r.name] = os.str();
        break;
      }
      case roomsync::RootType::Register: {
        auto val = d.register_get(r.handle);
        v["register:" + r.name] = val ? *val : std::string("<unset>");
        break;
      }
      case roomsync::RootType::Counter:
        v["counter:" + r.name] = std::to_string(d.counter_value(r.handle));
        break;
      case roomsync::RootType::List:
        v["list:" + r.name] = "len=" + std::to_string(d.list_length(r.handle)) + " " + d.list_content(r.handle);
        break;
      default:
        v["unknown:" + r.name] = "type " + std::to_string(static_cast<int>(r.type));
    }
  }
  return v;
}

inline std::string describe(const DocView& v) {
  std::string s;
  for (const auto& [k, val] : v) {
    std::string shown = val.size() > 300 ? val.substr(0, 300) + "…" : val;
    s += "[" + k + "] " + shown + "\n";
  }
  return s;
}

// A fresh document loaded from `state`; REQUIREs success.
inline DocView view_of_loaded(const Bytes& state, roomsync::ClientId id = 0xfeed) {
  roomsync::Doc d(id);
  roomsync::Status st = apply_upd(d, state);
  INFO("loading state: " << st.message);
  REQUIRE(st.ok);
  return view_of(d);
}

}  // namespace roomsync_test
