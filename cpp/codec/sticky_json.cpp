#include "codec/sticky_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "crdt/ids.h"

namespace roomsync {

namespace {

using json = nlohmann::ordered_json;  // members in the order JS writes them

// A JSON number that is an integer in [0, max] (1.0 counts, as in JS).
Status unsigned_field(const json& v, const char* what, uint64_t max, uint64_t* out) {
  if (!v.is_number()) return Status::error(std::string("sticky index ") + what + " is not a number");
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
  } else if (v.is_number_integer()) {
    if (v.get<int64_t>() < 0) return Status::error(std::string("sticky index ") + what + " is negative", Status::kRange);
    *out = static_cast<uint64_t>(v.get<int64_t>());
  } else {
    double d = v.get<double>();
    if (!(d >= 0 && d <= static_cast<double>(max) && std::floor(d) == d))
      return Status::error(std::string("sticky index ") + what + " is not an integer in range", Status::kRange);
    *out = static_cast<uint64_t>(d);
  }
  if (*out > max) return Status::error(std::string("sticky index ") + what + " out of range", Status::kRange);
  return {};
}

}  // namespace

std::string sticky_to_json(const Sticky& s) {
  json j = json::object();
  const char* type = sequence_type_name(s.type);
  j["t"] = type ? type : "";
  j["r"] = s.name;
  if (s.has_element) {
    j["c"] = s.client;
    j["k"] = s.clock;
  }
  j["a"] = s.assoc < 0 ? -1 : 0;
  // Root names are UTF-8; replace rather than throw should one not be.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status sticky_from_json(std::string_view text, Sticky* out) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::error("sticky index is not a JSON object");
  Sticky s;
  auto t = j.find("t");
  if (t == j.end() || !t->is_string() || !sequence_type_of(t->get_ref<const std::string&>(), &s.type))
    return Status::error("sticky index root type (t) is not \"text\" or \"list\"");
  auto r = j.find("r");
  if (r == j.end() || !r->is_string()) return Status::error("sticky index root name (r) is not a string");
  s.name = r->get<std::string>();
  auto a = j.find("a");
  uint64_t v = 0;
  if (a == j.end() || !a->is_number()) return Status::error("sticky index assoc (a) is not a number");
  if (*a != 0 && *a != -1) return Status::error("sticky index assoc (a) is not 0 or -1", Status::kRange);
  s.assoc = *a == 0 ? 0 : -1;
  auto c = j.find("c");
  auto k = j.find("k");
  const bool has_c = c != j.end() && !c->is_null(), has_k = k != j.end() && !k->is_null();
  if (has_c != has_k) return Status::error("sticky index has a client (c) without a clock (k) or the reverse");
  if (has_c) {
    if (Status st = unsigned_field(*c, "client id (c)", kMaxClientId, &v); !st) return st;
    s.client = v;
    if (Status st = unsigned_field(*k, "clock (k)", kMaxClock, &v); !st) return st;
    s.clock = static_cast<uint32_t>(v);
    s.has_element = true;
  }
  *out = std::move(s);
  return {};
}

}  // namespace roomsync
