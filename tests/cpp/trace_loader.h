// Loads the editing traces in shared/traces (gzip-compressed JSON, see traces/README.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crdt/doc.h"

namespace roomsync_test {

struct TracePatch {
  uint32_t pos = 0;     // in Unicode code points
  uint32_t del = 0;     // in Unicode code points
  std::u16string ins;   // inserted text as UTF-16
  uint32_t ins_cp = 0;  // inserted text length in code points
};

struct TraceTxn {
  std::vector<TracePatch> patches;
  std::vector<uint32_t> parents;  // concurrent traces only
  uint32_t agent = 0;             // concurrent traces only
};

struct Trace {
  std::string name;  // file name without .json.gz
  bool concurrent = false;
  uint32_t num_agents = 1;
  std::u16string end_content;
  std::vector<TraceTxn> txns;
  bool has_astral = false;  // any character above U+FFFF in inserts or endContent
  size_t patch_count = 0;
};

// $ROOMSYNC_TRACES if set, else ROOMSYNC_SOURCE_DIR "/../shared/traces".
std::string traces_dir();
bool dir_exists(const std::string& path);
// Sorted full paths of the *.json.gz files directly inside `dir`.
std::vector<std::string> list_gz_files(const std::string& dir);
// Reads a whole gzip file; false (and *err) on failure.
bool read_gz_file(const std::string& path, std::string* out, std::string* err);
bool load_trace(const std::string& path, Trace* out, std::string* err);

// Reports a missing traces folder loudly (stderr + Catch WARN); returns false if the
// caller must skip. `sub` is an optional subfolder ("concurrent").
bool require_traces_dir(const std::string& sub, std::string* dir_out);

// UTF-16 offset of code point index `cp` in `s` (clamped to s.size()).
uint32_t cp_to_utf16(const std::u16string& s, uint32_t cp);
// UTF-16 length of `cp_len` code points starting at UTF-16 offset `from`.
uint32_t cp_span_utf16(const std::u16string& s, uint32_t from, uint32_t cp_len);

// Applies the patches of one trace transaction to text root `text` of `doc`, each patch as
// delete-then-insert, inside one begin()/commit(). Positions are converted from code points to
// UTF-16 when the trace has characters above U+FFFF. Returns "" or a description of the first
// failing call. The committed TransactionResult is stored in *result when given.
std::string apply_trace_txn(roomsync::Doc& doc, roomsync::RootHandle text, const TraceTxn& txn, bool astral,
                            roomsync::TransactionResult* result = nullptr);

// Replays `trace` (sequential) into a plain std::u16string, checking the document against it at
// checkpoints; returns a description of the first transaction after which the document text
// differs from the model, or "" if none does. Slow; meant for diagnosing a failed replay.
std::string find_first_divergence(const Trace& trace);

}  // namespace roomsync_test
