// Rough figures for the room core (hidden: run with `roomsync_tests "[room-perf]"`). Printed, not
// asserted: timings are no pass/fail criterion on a shared machine.
#include <chrono>

#include "room_sim.h"

using namespace room_sim;

namespace {
double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

TEST_CASE("room perf: late joiner on a multi-MB document, keystrokes in a 6-peer room", "[.][room-perf]") {
  SimOptions o;
  o.min_latency = o.max_latency = 1;
  o.jitter = 0;
  Sim sim(o);
  for (int i = 0; i < 6; ++i) sim.add_node();
  sim.run_until(2000);
  // ~5 MB of text in 1000-character runs.
  for (int k = 0; k < 5000; ++k) sim.edit(k % 6, 1000);
  sim.run_until(sim.now() + 5000);
  const size_t state = sim.node(0).doc->encode_state().size();

  auto t0 = std::chrono::steady_clock::now();
  size_t j = sim.add_node();
  while (!sim.node(j).core->synced()) sim.run_until(sim.now() + 10);
  const double join_ms = ms_since(t0);
  sim.require_converged();

  const uint64_t frames_before = sim.total_transmits();
  t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < 2000; ++k) {
    sim.edit(k % 7, 1);
    sim.run_until(sim.now() + 5);
  }
  sim.run_until(sim.now() + 100);
  const double key_us = ms_since(t0) * 1000 / 2000;
  const double frames_per_key = double(sim.total_transmits() - frames_before) / 2000;
  sim.require_converged();
  WARN("state " << state << " bytes; late joiner synced in " << join_ms << " ms of CPU (all 7 cores, 1 ms links); "
       << key_us << " us CPU per keystroke across the room (7 docs apply it), " << frames_per_key
       << " frames per keystroke (full mesh: 6 expected, plus pings/heartbeats)");
}

TEST_CASE("room perf: gossip overhead in a 30-peer room with 6 direct links each", "[.][room-perf]") {
  SimOptions o;
  o.min_latency = 5;
  o.max_latency = 40;
  o.count_updates = true;
  Sim sim(o);
  for (int i = 0; i < 30; ++i) sim.add_node();
  sim.run_until(15000);
  uint32_t max_open = 0;
  sim.each_alive([&](size_t, Node& n) { max_open = std::max<uint32_t>(max_open, n.core->stats().open_channels); });
  const uint64_t before = sim.total_transmits();
  const uint64_t update_frames_before = sim.update_frames;
  const Millis t0 = sim.now();
  for (int k = 0; k < 300; ++k) sim.at(t0 + k * 10, [&sim, k] { sim.edit(k % 30, 1); });
  sim.run_until(t0 + 3000 + 2000);
  sim.require_converged();
  // Background traffic (pings, heartbeats) over the same time, measured without edits.
  const uint64_t edits_frames = sim.total_transmits() - before;
  const double update_frames = double(sim.update_frames - update_frames_before) / 300;
  const uint64_t before_idle = sim.total_transmits();
  sim.run_until(sim.now() + 5000);
  const uint64_t idle_frames = sim.total_transmits() - before_idle;
  WARN("30 peers, max " << max_open << " open channels per peer; " << double(edits_frames - idle_frames) / 300
       << " frames per update beyond background, " << update_frames << " frames carrying updates per update (29 = "
          "one per peer: each follows its origin's tree), " << double(edits_frames) / 300
       << " frames per update in all (pings and presence included, as the rooms bench counts); background "
       << idle_frames / 5 << " frames/s room-wide");
}
