#include "migration/migration_config.hpp"

namespace godwit {
namespace {

constexpr std::string_view kStatusNames[] = {
    "none",   "setup",      "cancelling", "cancelled", "active",         "postcopy-active", "postcopy-paused",
    "postcopy-recover-setup", "postcopy-recover", "completed", "failed", "colo", "pre-switchover", "device",
    "wait-unplug",
};

constexpr std::string_view kCapabilityNames[] = {
    "xbzrle",         "rdma-pin-all",   "auto-converge",     "zero-blocks",         "events",
    "postcopy-ram",   "x-colo",         "release-ram",       "return-path",         "pause-before-switchover",
    "multifd",        "dirty-bitmaps",  "postcopy-blocktime", "late-block-activate", "x-ignore-shared",
    "validate-uuid",  "background-snapshot", "zero-copy-send", "postcopy-preempt",  "switchover-ack",
    "dirty-limit",    "mapped-ram",
};
static_assert(std::size(kCapabilityNames) == kMigrationCapabilityCount);

constexpr std::string_view kModeNames[] = {"normal", "cpr-reboot", "cpr-transfer", "cpr-exec"};

}  // namespace

std::string_view migration_status_name(MigrationStatus status) { return kStatusNames[static_cast<size_t>(status)]; }

bool migration_status_running(MigrationStatus status) {
  switch (status) {
    case MigrationStatus::kNone:
    case MigrationStatus::kCancelled:
    case MigrationStatus::kCompleted:
    case MigrationStatus::kFailed:
      return false;
    default:
      return true;
  }
}

std::string_view migration_capability_name(MigrationCapability capability) {
  return kCapabilityNames[static_cast<size_t>(capability)];
}

std::optional<MigrationCapability> find_migration_capability(std::string_view name) {
  for (size_t i = 0; i < kMigrationCapabilityCount; ++i) {
    if (kCapabilityNames[i] == name) return static_cast<MigrationCapability>(i);
  }
  return std::nullopt;
}

std::string_view migration_mode_name(MigrationMode mode) { return kModeNames[static_cast<size_t>(mode)]; }

std::optional<MigrationMode> find_migration_mode(std::string_view name) {
  for (size_t i = 0; i < std::size(kModeNames); ++i) {
    if (kModeNames[i] == name) return static_cast<MigrationMode>(i);
  }
  return std::nullopt;
}

bool migration_capability_supported(MigrationCapability capability) {
  return capability == MigrationCapability::kEvents || capability == MigrationCapability::kXIgnoreShared;
}

std::vector<std::string> stream_capabilities(const MigrationCapabilities& capabilities) {
  std::vector<std::string> names;
  if (capabilities[MigrationCapability::kXIgnoreShared]) names.emplace_back("x-ignore-shared");
  return names;
}

}  // namespace godwit
