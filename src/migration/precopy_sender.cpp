#include "migration/precopy_sender.hpp"

#include <algorithm>
#include <bit>

#include "migration/savevm_format.hpp"

namespace godwit {
namespace {

// The most one PART chunk carries when no bandwidth limit applies, so that
// parameters, cancel and the convergence check are looked at often.
constexpr uint64_t kChunkCapBytes = 8u << 20;
// The most pages one PART chunk looks at, for the same reason: a chunk of
// pages of zeros is 9 bytes a page, so a byte cap alone lets one chunk scan
// a whole GiB.
constexpr uint64_t kChunkCapPages = 16384;
// The shortest time between two syncs that a finished pass asks for.
constexpr auto kMinSyncInterval = std::chrono::milliseconds(5);

uint64_t elapsed_ms(PrecopySender::Clock::time_point from, PrecopySender::Clock::time_point to) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count());
}

uint64_t popcount(const std::vector<uint64_t>& words) {
  uint64_t count = 0;
  for (uint64_t word : words) count += static_cast<uint64_t>(std::popcount(word));
  return count;
}

}  // namespace

PrecopySender::PrecopySender(MigratableVm& vm, StreamWriter& out, PrecopyOptions options, ProgressBoard& progress,
                             CancelToken& cancel)
    : vm_(vm),
      out_(out),
      writer_(out),
      options_(std::move(options)),
      parameters_(options_.parameters()),
      progress_(progress),
      cancel_(cancel),
      blocks_(vm.ram_blocks()),
      ram_(out, blocks_, RamSectionOptions{options_.capabilities[MigrationCapability::kXIgnoreShared]}),
      window_(Clock::now()) {}

Status PrecopySender::check_stream(const char* what) {
  if (cancel_.cancelled()) return fail("cancelled");
  if (auto status = out_.status(); !status) return std::unexpected(std::move(status.error()).context(what));
  return {};
}

Status PrecopySender::run(Clock::time_point started) {
  started_ = started;
  // A stop_first migration has no precopy: its bytes count as the pause's,
  // as QEMU's, even the few that go before the stop.
  if (options_.stop_first) ram_.set_phase(RamSavePhase::downtime);
  if (auto status = prepare(); !status) return status;
  if (options_.stop_first) {
    if (auto status = stop_guest(); !status) return status;
  }
  if (auto status = setup(); !status) return status;
  const Clock::time_point active = Clock::now();
  progress_.update([&](MigrationProgress& p) { p.setup_time_ms = elapsed_ms(started_, active); });
  options_.set_status(MigrationStatus::kActive);
  if (!options_.stop_first) {
    if (auto status = iterate(); !status) return status;
  }
  return complete();
}

Status PrecopySender::stop_guest() {
  stop_time_ = Clock::now();
  if (auto status = vm_.stop_for_switchover(); !status) return status;
  switched_over_ = true;
  ram_.set_phase(RamSavePhase::downtime);
  return {};
}

Status PrecopySender::prepare() {
  // The log covers the blocks in order; each block's pages must start on a
  // bitmap word so a block's bits are a span of words.
  const bool ignore_shared = options_.capabilities[MigrationCapability::kXIgnoreShared];
  uint64_t pages = 0;
  for (const RamBlockView& block : blocks_) {
    if (pages % 64 != 0) return fail("RAM block '" + block.id + "' does not start on a 256 KiB boundary");
    block_first_word_.push_back(pages / 64);
    block_skipped_.push_back(ignore_shared && block.shared);
    pages += ram_page_count(block);
  }
  bitmap_.assign((pages + 63) / 64, 0);
  scratch_.assign(bitmap_.size(), 0);

  writer_.write_header(vm_.machine_type(), stream_capabilities(options_.capabilities));
  writer_.begin_section({savevm::kSectionStart, kRamSectionId, std::string(kRamSectionName), 0, kRamSectionVersion});
  ram_.write_setup();  // ends with EOS
  writer_.end_section(kRamSectionId);
  if (auto status = out_.flush(); !status) return std::unexpected(std::move(status.error()).context("setup"));
  return check_stream("setup");
}

Status PrecopySender::setup() {
  // A stopped guest writes nothing: one pass, no log.
  if (!options_.stop_first) {
    if (auto status = vm_.start_dirty_log(); !status) return status;
  }
  // The first pass: every page is "dirty" (QEMU's first bitmap sync sets
  // them all). Writes from now on land in the log for the next pass.
  dirty_pages_ = 0;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    if (block_skipped_[i]) continue;
    const uint64_t first = block_first_word_[i] * 64;
    const uint64_t count = ram_page_count(blocks_[i]);
    for (uint64_t page = first; page < first + count; ++page) bitmap_[page / 64] |= uint64_t{1} << (page % 64);
    dirty_pages_ += count;
  }
  sync_count_ = 1;
  last_sync_time_ = Clock::now();
  rate_period_start_ = last_sync_time_;
  vm_.emit_migration_pass(sync_count_);
  progress_.update([&](MigrationProgress& p) {
    p.dirty_sync_count = sync_count_;
    p.remaining_bytes = dirty_bytes();
    p.expected_downtime_ms = parameters_.downtime_limit_ms;
  });
  return check_stream("setup");
}

void PrecopySender::sync() {
  vm_.dirty_log().take_into(scratch_);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    if (!block_skipped_[i]) continue;
    const size_t words = (ram_page_count(blocks_[i]) + 63) / 64;
    std::fill_n(scratch_.begin() + static_cast<std::ptrdiff_t>(block_first_word_[i]), words, 0);
  }
  for (size_t i = 0; i < bitmap_.size(); ++i) bitmap_[i] |= scratch_[i];
  const uint64_t newly_dirty = popcount(scratch_);
  dirty_pages_ = popcount(bitmap_);
  const Clock::time_point now = Clock::now();
  pages_dirtied_in_period_ += newly_dirty;
  const double seconds = std::chrono::duration<double>(now - rate_period_start_).count();
  if (seconds >= 1.0) {
    dirty_pages_rate_ = static_cast<uint64_t>(static_cast<double>(pages_dirtied_in_period_) / seconds);
    pages_dirtied_in_period_ = 0;
    rate_period_start_ = now;
  }
  last_sync_time_ = now;
  ++sync_count_;
  vm_.emit_migration_pass(sync_count_);
  progress_.update([&](MigrationProgress& p) {
    p.dirty_sync_count = sync_count_;
    p.dirty_pages_rate = dirty_pages_rate_;
    p.remaining_bytes = dirty_bytes();
  });
}

double PrecopySender::threshold_bytes(Clock::time_point now) const {
  // The link's demonstrated rate, never above the rate the sender may use.
  double bytes_per_ms = window_.switchover_bytes_per_ms(now);
  if (parameters_.max_bandwidth != 0) {
    bytes_per_ms = std::min(bytes_per_ms, static_cast<double>(parameters_.max_bandwidth) / 1000.0);
  }
  if (parameters_.avail_switchover_bandwidth != 0) {
    bytes_per_ms = static_cast<double>(parameters_.avail_switchover_bandwidth) / 1000.0;
  }
  return bytes_per_ms * static_cast<double>(parameters_.downtime_limit_ms);
}

void PrecopySender::publish(Clock::time_point now) {
  const double bytes_per_ms = window_.bytes_per_ms();
  progress_.update([&](MigrationProgress& p) {
    p.ram = ram_.stats();
    p.remaining_bytes = dirty_bytes();
    p.total_time_ms = elapsed_ms(started_, now);
    p.mbps = window_.megabits_per_second();
    p.pages_per_second = window_.pages_per_second();
    // As QEMU: the downtime limit until a dirty rate has been measured.
    if (bytes_per_ms > 0 && dirty_pages_rate_ > 0) {
      p.expected_downtime_ms = static_cast<uint64_t>(static_cast<double>(dirty_bytes()) / bytes_per_ms);
    }
  });
}

Status PrecopySender::send_chunk() {
  const uint64_t budget = window_.allowance_left(parameters_.max_bandwidth, kChunkCapBytes);
  if (budget == 0) return {};
  writer_.begin_section({savevm::kSectionPart, kRamSectionId, {}, 0, 0});
  const RamSaveStats before = ram_.stats();
  uint64_t sent = 0;
  uint64_t pages_left = kChunkCapPages;
  for (size_t i = 0; i < blocks_.size() && sent < budget && pages_left > 0; ++i) {
    const size_t words = (ram_page_count(blocks_[i]) + 63) / 64;
    std::span<uint64_t> bits(bitmap_.data() + block_first_word_[i], words);
    const uint64_t pages_before = ram_.stats().normal_pages + ram_.stats().duplicate_pages;
    sent += ram_.write_pages(blocks_[i], bits, budget - sent, pages_left);
    pages_left -= std::min(pages_left, ram_.stats().normal_pages + ram_.stats().duplicate_pages - pages_before);
  }
  ram_.end_chunk();
  writer_.end_section(kRamSectionId);
  const RamSaveStats& after = ram_.stats();
  const uint64_t pages = (after.normal_pages - before.normal_pages) + (after.duplicate_pages - before.duplicate_pages);
  dirty_pages_ -= std::min(dirty_pages_, pages);
  if (auto status = out_.flush(); !status) return std::unexpected(std::move(status.error()).context("sending RAM"));
  window_.add(out_.bytes_written() - bytes_at_last_add_, pages);
  bytes_at_last_add_ = out_.bytes_written();
  return {};
}

Status PrecopySender::iterate() {
  for (;;) {
    if (auto status = check_stream("sending RAM"); !status) return status;
    parameters_ = options_.parameters();
    Clock::time_point now = Clock::now();
    window_.roll(now);
    publish(now);

    // Convergence, QEMU's rule (migration_iteration_run): switch over when
    // what is left, counted exactly after a sync, fits the downtime limit
    // at the switchover's rate. QEMU asks at every step, even in the middle
    // of a pass; godwit does so only when avail-switchover-bandwidth says
    // the switchover has a rate of its own. Otherwise the rest of a pass
    // would go in the downtime at the very rate it goes at now with the
    // guest running, so godwit asks when the pass has ended (a Linux
    // guest's first pass left some 40 MiB: a 20 ms downtime, not 5).
    const bool mid_pass_check = parameters_.avail_switchover_bandwidth != 0;
    if (mid_pass_check && dirty_pages_ != 0) {
      const double threshold = threshold_bytes(now);
      if (static_cast<double>(dirty_bytes()) <= threshold) {
        sync();
        if (static_cast<double>(dirty_bytes()) <= threshold) return {};
      }
    }
    if (dirty_pages_ == 0) {
      // Give the guest a moment to dirty something rather than syncing in
      // a tight loop.
      const auto since_sync = now - last_sync_time_;
      if (since_sync < kMinSyncInterval && cancel_.sleep_for(kMinSyncInterval - since_sync)) return fail("cancelled");
      sync();
      if (static_cast<double>(dirty_bytes()) <= threshold_bytes(Clock::now())) return {};
    }
    if (dirty_pages_ == 0) continue;

    if (auto wait = window_.wait_needed(parameters_.max_bandwidth, now); wait > Clock::duration::zero()) {
      if (cancel_.sleep_for(wait)) return fail("cancelled");
      continue;
    }
    if (auto status = send_chunk(); !status) return status;
  }
}

Status PrecopySender::complete() {
  if (!switched_over_) {
    if (auto status = stop_guest(); !status) return status;
  }
  // QEMU (since 9.1) always passes through device once the guest stopped.
  options_.set_status(MigrationStatus::kDevice);
  if (!options_.stop_first) sync();

  writer_.begin_section({savevm::kSectionEnd, kRamSectionId, {}, 0, 0});
  for (size_t i = 0; i < blocks_.size(); ++i) {
    if (block_skipped_[i]) continue;  // none of its bits is set: no walk over them
    const size_t words = (ram_page_count(blocks_[i]) + 63) / 64;
    std::span<uint64_t> bits(bitmap_.data() + block_first_word_[i], words);
    while (ram_.write_pages(blocks_[i], bits, UINT64_MAX) > 0) {
    }
  }
  dirty_pages_ = 0;
  ram_.end_chunk();
  writer_.end_section(kRamSectionId);

  const std::vector<DeviceSection> sections = vm_.device_sections();
  uint32_t next_id = kRamSectionId + 1;
  if (options_.describe) {
    nlohmann::json devices = nlohmann::json::array();
    write_device_sections(writer_, sections, next_id, &devices);
    writer_.write_eof({{"page_size", kRamPageSize}, {"devices", std::move(devices)}});
  } else {
    write_device_sections(writer_, sections, next_id, nullptr);
    writer_.write_eof();
  }
  if (auto status = out_.flush(); !status) return std::unexpected(std::move(status.error()).context("switchover"));
  publish(Clock::now());
  return check_stream("switchover");
}

}  // namespace godwit

