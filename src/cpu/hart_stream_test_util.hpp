// A hart's state through the stream, as the migration side moves it: the
// tests of each part of that state (registers, FPU, Sstc, triggers) save and
// load through these rather than each writing its own.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "base/error.hpp"
#include "cpu/hart.hpp"
#include "migration/byte_channel.hpp"
#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"
#include "migration/vmstate.hpp"

namespace godwit::testing {

// What the stream side does with a StateOwner: snapshot, then save_state.
inline std::vector<uint8_t> save_bytes(const Hart& hart) {
  MemorySink sink;
  StreamWriter out(sink);
  HartState state = hart.snapshot();
  save_state(out, state);
  EXPECT_TRUE(out.flush());
  return sink.data();
}

// And back: load_state into a copy, then restore.
inline Status load_bytes(Hart& hart, const std::vector<uint8_t>& bytes, uint32_t version_id = 1) {
  MemorySource source(bytes);
  StreamReader in(source);
  HartState state = hart.snapshot();
  if (Status status = load_state(in, state, version_id); !status) return status;
  return hart.restore(state);
}

}  // namespace godwit::testing
