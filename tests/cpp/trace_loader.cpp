#include "trace_loader.h"

#include <dirent.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "crdt/doc.h"

#ifndef ROOMSYNC_SOURCE_DIR
#define ROOMSYNC_SOURCE_DIR "."
#endif

namespace roomsync_test {

std::string traces_dir() {
  const char* env = std::getenv("ROOMSYNC_TRACES");
  if (env && *env) return env;
  return std::string(ROOMSYNC_SOURCE_DIR) + "/../shared/traces";
}

bool dir_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> list_gz_files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    const std::string suffix = ".json.gz";
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string full = dir + "/" + n;
      struct stat st;
      if (::stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode)) out.push_back(full);
    }
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool read_gz_file(const std::string& path, std::string* out, std::string* err) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) {
    *err = "cannot open " + path;
    return false;
  }
  gzbuffer(f, 1 << 16);
  out->clear();
  char buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int code = 0;
      const char* m = gzerror(f, &code);
      *err = "gzread failed on " + path + ": " + (m ? m : "?");
      gzclose(f);
      return false;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  gzclose(f);
  return true;
}

static uint32_t utf8_cp_count(const std::string& s) {
  uint32_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

static bool has_surrogates(const std::u16string& s) {
  for (char16_t c : s)
    if (c >= 0xD800 && c <= 0xDFFF) return true;
  return false;
}

static std::string base_name(const std::string& path) {
  size_t slash = path.find_last_of('/');
  std::string n = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string suffix = ".json.gz";
  if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
    n.resize(n.size() - suffix.size());
  return n;
}

bool load_trace(const std::string& path, Trace* out, std::string* err) {
  std::string raw;
  if (!read_gz_file(path, &raw, err)) return false;
  nlohmann::json j = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    *err = "invalid JSON in " + path;
    return false;
  }
  try {
    Trace t;
    t.name = base_name(path);
    t.concurrent = j.value("kind", std::string()) == "concurrent";
    t.num_agents = t.concurrent ? j.at("numAgents").get<uint32_t>() : 1;
    if (j.contains("startContent") && !j["startContent"].get<std::string>().empty()) {
      *err = "non-empty startContent is not supported (" + path + ")";
      return false;
    }
    t.end_content = roomsync::utf8_to_utf16(j.at("endContent").get<std::string>());
    t.has_astral = has_surrogates(t.end_content);
    const auto& txns = j.at("txns");
    t.txns.reserve(txns.size());
    for (const auto& jt : txns) {
      TraceTxn tx;
      for (const auto& jp : jt.at("patches")) {
        TracePatch p;
        p.pos = jp.at(0).get<uint32_t>();
        p.del = jp.at(1).get<uint32_t>();
        const std::string ins = jp.at(2).get<std::string>();
        p.ins = roomsync::utf8_to_utf16(ins);
        p.ins_cp = utf8_cp_count(ins);
        if (p.ins.size() != p.ins_cp) t.has_astral = true;
        tx.patches.push_back(std::move(p));
        ++t.patch_count;
      }
      if (t.concurrent) {
        tx.agent = jt.at("agent").get<uint32_t>();
        for (const auto& jp : jt.at("parents")) tx.parents.push_back(jp.get<uint32_t>());
      }
      t.txns.push_back(std::move(tx));
    }
    *out = std::move(t);
  } catch (const std::exception& e) {
    *err = "malformed trace " + path + ": " + e.what();
    return false;
  }
  return true;
}

bool require_traces_dir(const std::string& sub, std::string* dir_out) {
  std::string dir = traces_dir();
  if (!sub.empty()) dir += "/" + sub;
  if (!dir_exists(dir) || list_gz_files(dir).empty()) {
    std::cerr << "SKIPPED: traces folder not found at " << dir
              << " (set ROOMSYNC_TRACES to the folder holding the *.json.gz traces)" << std::endl;
    WARN("SKIPPED: traces folder not found at " << dir);
    return false;
  }
  *dir_out = dir;
  return true;
}

uint32_t cp_to_utf16(const std::u16string& s, uint32_t cp) {
  uint32_t i = 0;
  const uint32_t n = static_cast<uint32_t>(s.size());
  while (cp > 0 && i < n) {
    bool pair = s[i] >= 0xD800 && s[i] <= 0xDBFF && i + 1 < n && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF;
    i += pair ? 2 : 1;
    --cp;
  }
  return i;
}

uint32_t cp_span_utf16(const std::u16string& s, uint32_t from, uint32_t cp_len) {
  if (from >= s.size()) return 0;
  std::u16string_view rest(s.data() + from, s.size() - from);
  return cp_to_utf16(std::u16string(rest), cp_len);
}

}  // namespace roomsync_test

namespace roomsync_test {

std::string apply_trace_txn(roomsync::Doc& doc, roomsync::RootHandle text, const TraceTxn& txn, bool astral,
                            roomsync::TransactionResult* result) {
  std::string err;
  doc.begin();
  for (size_t i = 0; i < txn.patches.size() && err.empty(); ++i) {
    const TracePatch& p = txn.patches[i];
    uint32_t pos = p.pos, del = p.del;
    if (astral) {
      std::u16string cur = doc.text_content(text);
      pos = cp_to_utf16(cur, p.pos);
      del = cp_span_utf16(cur, pos, p.del);
    }
    if (p.del > 0) {
      roomsync::Status st = doc.text_delete(text, pos, del);
      if (!st) err = "patch " + std::to_string(i) + ": text_delete(" + std::to_string(pos) + ", " +
                     std::to_string(del) + ") failed: " + st.message;
    }
    if (err.empty() && !p.ins.empty()) {
      roomsync::Status st = doc.text_insert(text, pos, p.ins);
      if (!st) err = "patch " + std::to_string(i) + ": text_insert(" + std::to_string(pos) + ", " +
                     std::to_string(p.ins.size()) + " units) failed: " + st.message;
    }
  }
  roomsync::TransactionResult r = doc.commit();
  if (result) *result = std::move(r);
  return err;
}

static void model_apply(std::u16string& s, const TraceTxn& txn, bool astral) {
  for (const TracePatch& p : txn.patches) {
    uint32_t pos = astral ? cp_to_utf16(s, p.pos) : p.pos;
    uint32_t del = astral ? cp_span_utf16(s, pos, p.del) : p.del;
    if (pos > s.size()) pos = static_cast<uint32_t>(s.size());
    s.erase(pos, del);
    s.insert(pos, p.ins);
  }
}

std::string find_first_divergence(const Trace& trace) {
  // Pass 1: checkpoints every `step` transactions; pass 2: per transaction from the last good
  // checkpoint.
  const size_t step = 512;
  size_t good = 0;  // number of txns after which doc == model was last verified
  {
    roomsync::Doc doc(1);
    roomsync::RootHandle t = 0;
    doc.root(roomsync::RootType::Text, "text", &t);
    std::u16string model;
    bool diverged = false;
    for (size_t i = 0; i < trace.txns.size(); ++i) {
      std::string err = apply_trace_txn(doc, t, trace.txns[i], trace.has_astral);
      if (!err.empty()) return "txn " + std::to_string(i) + ": " + err;
      model_apply(model, trace.txns[i], trace.has_astral);
      if ((i + 1) % step == 0 || i + 1 == trace.txns.size()) {
        if (doc.text_content(t) != model) {
          diverged = true;
          break;
        }
        good = i + 1;
      }
    }
    if (!diverged) {
      if (model != trace.end_content) return "model itself does not reach endContent (trace/loader bug)";
      return "";
    }
  }
  roomsync::Doc doc(1);
  roomsync::RootHandle t = 0;
  doc.root(roomsync::RootType::Text, "text", &t);
  std::u16string model;
  for (size_t i = 0; i < trace.txns.size(); ++i) {
    apply_trace_txn(doc, t, trace.txns[i], trace.has_astral);
    std::u16string before = model;
    model_apply(model, trace.txns[i], trace.has_astral);
    if (i >= good) {
      std::u16string got = doc.text_content(t);
      if (got != model) {
        size_t k = 0;
        while (k < got.size() && k < model.size() && got[k] == model[k]) ++k;
        auto ctx = [&](const std::u16string& s) {
          size_t a = k > 20 ? k - 20 : 0;
          return roomsync::utf16_to_utf8(s.substr(a, 40));
        };
        std::string patches;
        for (const auto& p : trace.txns[i].patches)
          patches += "[" + std::to_string(p.pos) + "," + std::to_string(p.del) + ",\"" + roomsync::utf16_to_utf8(p.ins) + "\"] ";
        return "first divergence after txn " + std::to_string(i) + " (patches " + patches + "; length before " +
               std::to_string(before.size()) + "): doc length " + std::to_string(got.size()) + " vs model " +
               std::to_string(model.size()) + ", first difference at unit " + std::to_string(k) + ": doc \"" +
               ctx(got) + "\" vs model \"" + ctx(model) + "\"";
      }
    }
  }
  return "no divergence found on re-run (non-deterministic core?)";
}

}  // namespace roomsync_test
