// A fixed array of T in anonymous memory that reads as zeros until written,
// for large per-object tables whose "empty" state is all-zero bytes.
//
// Why not a value-initialised std::unique_ptr<T[]>: that writes every byte
// at construction, faulting every page in. A hart's block table is 1.4 MiB;
// building a machine (inside a cpr-exec's guest pause) paid ~0.5 ms per hart
// for it, and again for each clear. Here construction maps untouched zero
// pages, and clear() hands the written ones back to the kernel (madvise
// MADV_DONTNEED), which costs only what was used.
//
// T must be an implicit-lifetime type (an aggregate without a user-provided
// destructor) whose all-zero bytes are a valid, empty value.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

namespace godwit {

template <class T>
class ZeroedTable {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  explicit ZeroedTable(size_t count) : count_(count), bytes_(count * sizeof(T)) {
    void* memory = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
      // As operator new's failure: nothing can run without it.
      std::fputs("godwit: out of memory for a table\n", stderr);
      std::abort();
    }
    data_ = static_cast<T*>(memory);
  }
  ~ZeroedTable() { ::munmap(data_, bytes_); }
  ZeroedTable(const ZeroedTable&) = delete;
  ZeroedTable& operator=(const ZeroedTable&) = delete;

  T& operator[](size_t index) { return data_[index]; }
  const T& operator[](size_t index) const { return data_[index]; }
  T* data() { return data_; }
  size_t size() const { return count_; }

  // Every element back to zero bytes.
  void clear() { (void)::madvise(data_, bytes_, MADV_DONTNEED); }

 private:
  size_t count_;
  size_t bytes_;
  T* data_;
};

}  // namespace godwit
