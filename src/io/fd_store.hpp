// Descriptors handed to godwit at run time (QMP getfd and add-fd, passed with
// SCM_RIGHTS): named fds, and QEMU's fd sets of numbered fds with an opaque
// note each. Kept per machine, for whatever later opens "fd:NAME" or
// /dev/fdset/N (migration's fd: transport, CPR). Every descriptor held is
// closed when it is removed, replaced, or the store goes.
//
// Threads: any; one mutex guards the lot.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace godwit {

class FdStore {
 public:
  struct FdInfo {
    int fd;
    std::optional<std::string> opaque;
  };
  struct FdSet {
    int64_t id;
    std::vector<FdInfo> fds;
  };

  FdStore() = default;
  ~FdStore();
  FdStore(const FdStore&) = delete;
  FdStore& operator=(const FdStore&) = delete;

  // getfd: takes `fd`; a name in use has its old descriptor closed, as QEMU.
  void add_named(const std::string& name, int fd);
  // closefd: fails when no descriptor has that name.
  Status close_named(const std::string& name);
  // Gives the descriptor up to the caller (who closes it); -1 if unknown.
  int take_named(const std::string& name);

  // add-fd: takes `fd` into set `set_id`, or the lowest free set id when
  // none is given (QEMU's rule). Returns the set id.
  int64_t add_to_set(std::optional<int64_t> set_id, int fd, std::optional<std::string> opaque);
  // remove-fd: closes one descriptor of the set, or the whole set; a set
  // left empty goes. Fails naming what was not found, in QEMU's words.
  Status remove_from_set(int64_t set_id, std::optional<int64_t> fd);
  // query-fdsets: highest set id first, as QEMU lists them.
  std::vector<FdSet> sets() const;

  size_t size() const;  // descriptors held, for tests

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> named_;
  std::vector<FdSet> sets_;  // in creation order
};

}  // namespace godwit
