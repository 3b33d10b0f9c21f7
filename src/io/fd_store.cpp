#include "io/fd_store.hpp"

#include <unistd.h>

#include <algorithm>

namespace godwit {

FdStore::~FdStore() {
  for (const auto& [name, fd] : named_) ::close(fd);
  for (const FdSet& set : sets_) {
    for (const FdInfo& info : set.fds) ::close(info.fd);
  }
}

void FdStore::add_named(const std::string& name, int fd) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = named_.emplace(name, fd);
  if (!inserted) {
    ::close(it->second);
    it->second = fd;
  }
}

Status FdStore::close_named(const std::string& name) {
  const int fd = take_named(name);
  if (fd < 0) return fail("File descriptor named '" + name + "' not found");
  ::close(fd);
  return {};
}

int FdStore::take_named(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = named_.find(name);
  if (it == named_.end()) return -1;
  const int fd = it->second;
  named_.erase(it);
  return fd;
}

int64_t FdStore::add_to_set(std::optional<int64_t> set_id, int fd, std::optional<std::string> opaque) {
  std::lock_guard lock(mutex_);
  auto has_id = [&](int64_t id) {
    return std::any_of(sets_.begin(), sets_.end(), [&](const FdSet& s) { return s.id == id; });
  };
  int64_t id = 0;
  if (set_id) {
    id = *set_id;
  } else {
    while (has_id(id)) ++id;
  }
  auto it = std::find_if(sets_.begin(), sets_.end(), [&](const FdSet& s) { return s.id == id; });
  if (it == sets_.end()) {
    sets_.push_back({id, {}});
    it = sets_.end() - 1;
  }
  it->fds.push_back({fd, std::move(opaque)});
  return id;
}

Status FdStore::remove_from_set(int64_t set_id, std::optional<int64_t> fd) {
  std::lock_guard lock(mutex_);
  // QEMU names the missing thing this way in both cases.
  const std::string what = "fdset-id:" + std::to_string(set_id) +
                           (fd ? ", fd:" + std::to_string(*fd) : std::string());
  auto it = std::find_if(sets_.begin(), sets_.end(), [&](const FdSet& s) { return s.id == set_id; });
  if (it == sets_.end()) return fail("File descriptor named '" + what + "' not found");
  if (fd) {
    auto entry = std::find_if(it->fds.begin(), it->fds.end(), [&](const FdInfo& i) { return i.fd == *fd; });
    if (entry == it->fds.end()) return fail("File descriptor named '" + what + "' not found");
    ::close(entry->fd);
    it->fds.erase(entry);
  } else {
    for (const FdInfo& info : it->fds) ::close(info.fd);
    it->fds.clear();
  }
  if (it->fds.empty()) sets_.erase(it);
  return {};
}

std::vector<FdStore::FdSet> FdStore::sets() const {
  std::lock_guard lock(mutex_);
  std::vector<FdSet> sorted = sets_;
  std::sort(sorted.begin(), sorted.end(), [](const FdSet& a, const FdSet& b) { return a.id > b.id; });
  return sorted;
}

size_t FdStore::size() const {
  std::lock_guard lock(mutex_);
  size_t count = named_.size();
  for (const FdSet& set : sets_) count += set.fds.size();
  return count;
}

}  // namespace godwit
