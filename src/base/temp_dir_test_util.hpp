// A fresh directory under the system temp dir for one test, removed with
// what it holds: every unit test makes its files and sockets in one.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace godwit::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "godwit_test.XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // A path inside the directory: `dir / "a.sock"`.
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace godwit::testing
