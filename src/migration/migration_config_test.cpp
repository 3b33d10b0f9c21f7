// The names and defaults a QMP client sees: they must be QEMU's exactly
// (qapi/migration.json, migration/options.c), or libvirt and scripts
// written against QEMU misread what godwit reports.
#include "migration/migration_config.hpp"

#include <gtest/gtest.h>

#include <set>
#include <utility>
#include <vector>

namespace godwit {
namespace {

TEST(MigrationConfig, StatusNamesAreQemusInItsEnumOrder) {
  const std::vector<std::pair<MigrationStatus, std::string_view>> expected = {
      {MigrationStatus::kNone, "none"},
      {MigrationStatus::kSetup, "setup"},
      {MigrationStatus::kCancelling, "cancelling"},
      {MigrationStatus::kCancelled, "cancelled"},
      {MigrationStatus::kActive, "active"},
      {MigrationStatus::kPostcopyActive, "postcopy-active"},
      {MigrationStatus::kPostcopyPaused, "postcopy-paused"},
      {MigrationStatus::kPostcopyRecoverSetup, "postcopy-recover-setup"},
      {MigrationStatus::kPostcopyRecover, "postcopy-recover"},
      {MigrationStatus::kCompleted, "completed"},
      {MigrationStatus::kFailed, "failed"},
      {MigrationStatus::kColo, "colo"},
      {MigrationStatus::kPreSwitchover, "pre-switchover"},
      {MigrationStatus::kDevice, "device"},
      {MigrationStatus::kWaitUnplug, "wait-unplug"},
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    // The enum order is QEMU's too (MIGRATION_STATUS_NONE = 0, ...).
    EXPECT_EQ(static_cast<size_t>(expected[i].first), i);
    EXPECT_EQ(migration_status_name(expected[i].first), expected[i].second);
  }
}

TEST(MigrationConfig, RunningStatusesAreThoseOfQemusMigrationIsRunning) {
  // Only the four end states let a new migration start.
  const std::set<MigrationStatus> idle = {MigrationStatus::kNone, MigrationStatus::kCancelled,
                                          MigrationStatus::kCompleted, MigrationStatus::kFailed};
  for (int i = 0; i <= static_cast<int>(MigrationStatus::kWaitUnplug); ++i) {
    const auto status = static_cast<MigrationStatus>(i);
    EXPECT_EQ(migration_status_running(status), !idle.contains(status)) << migration_status_name(status);
  }
  // Spelled out for the ones that matter most: cancelling still holds the
  // channel, device still holds a stopped guest.
  EXPECT_TRUE(migration_status_running(MigrationStatus::kSetup));
  EXPECT_TRUE(migration_status_running(MigrationStatus::kCancelling));
  EXPECT_TRUE(migration_status_running(MigrationStatus::kActive));
  EXPECT_TRUE(migration_status_running(MigrationStatus::kDevice));
}

TEST(MigrationConfig, CapabilityNamesAreQemusInItsEnumOrder) {
  const std::vector<std::string_view> expected = {
      "xbzrle",
      "rdma-pin-all",
      "auto-converge",
      "zero-blocks",
      "events",
      "postcopy-ram",
      "x-colo",
      "release-ram",
      "return-path",
      "pause-before-switchover",
      "multifd",
      "dirty-bitmaps",
      "postcopy-blocktime",
      "late-block-activate",
      "x-ignore-shared",
      "validate-uuid",
      "background-snapshot",
      "zero-copy-send",
      "postcopy-preempt",
      "switchover-ack",
      "dirty-limit",
      "mapped-ram",
  };
  ASSERT_EQ(expected.size(), kMigrationCapabilityCount);
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto capability = static_cast<MigrationCapability>(i);
    EXPECT_EQ(migration_capability_name(capability), expected[i]);
    // Looking a name up gives the capability back.
    EXPECT_EQ(find_migration_capability(expected[i]), capability) << expected[i];
  }
  EXPECT_EQ(migration_capability_name(MigrationCapability::kEvents), "events");
  EXPECT_EQ(migration_capability_name(MigrationCapability::kXIgnoreShared), "x-ignore-shared");
}

TEST(MigrationConfig, UnknownCapabilityNamesAreNotFound) {
  // Exact, case-sensitive names only, as QAPI enums are; "block" was removed
  // from QEMU (9.1) and is not ours either.
  for (std::string_view name : {"", "Events", "events ", "x_ignore_shared", "block", "ignore-shared", "mapped"}) {
    EXPECT_EQ(find_migration_capability(name), std::nullopt) << "'" << name << "'";
  }
}

TEST(MigrationConfig, OnlyEventsAndXIgnoreSharedAreSupported) {
  for (size_t i = 0; i < kMigrationCapabilityCount; ++i) {
    const auto capability = static_cast<MigrationCapability>(i);
    const bool expected =
        capability == MigrationCapability::kEvents || capability == MigrationCapability::kXIgnoreShared;
    EXPECT_EQ(migration_capability_supported(capability), expected) << migration_capability_name(capability);
  }
}

TEST(MigrationConfig, CapabilitiesStartOffAndSetIndependently) {
  MigrationCapabilities capabilities;
  for (size_t i = 0; i < kMigrationCapabilityCount; ++i) {
    EXPECT_FALSE(capabilities[static_cast<MigrationCapability>(i)]);
  }
  capabilities.set(MigrationCapability::kXIgnoreShared, true);
  EXPECT_TRUE(capabilities[MigrationCapability::kXIgnoreShared]);
  EXPECT_FALSE(capabilities[MigrationCapability::kEvents]);
  EXPECT_FALSE(capabilities[MigrationCapability::kMappedRam]);  // the last one, next to nothing
  capabilities.set(MigrationCapability::kXIgnoreShared, false);
  EXPECT_FALSE(capabilities[MigrationCapability::kXIgnoreShared]);
}

TEST(MigrationConfig, ParameterDefaultsAreQemus) {
  const MigrationParameters parameters;
  EXPECT_EQ(parameters.downtime_limit_ms, 300u);                    // DEFAULT_MIGRATE_SET_DOWNTIME
  EXPECT_EQ(parameters.max_bandwidth, 128u * 1024 * 1024);          // MAX_THROTTLE: 128 MiB/s
  EXPECT_EQ(parameters.avail_switchover_bandwidth, 0u);             // 0: use the measured rate
  EXPECT_EQ(MigrationParameters::kMaxDowntimeLimitMs, 2'000'000u);  // MAX_MIGRATE_DOWNTIME: 2000 s
}

}  // namespace
}  // namespace godwit
