// strerror for the calling thread, without the thread-safety trap of strerror().
#pragma once

#include <cstring>
#include <string>

namespace godwit {

inline std::string errno_text(int err) {
  char buffer[256];
  // GNU strerror_r returns the message pointer, which may not be buffer.
  const char* text = strerror_r(err, buffer, sizeof buffer);
  return text;
}

}  // namespace godwit
