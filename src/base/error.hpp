// Errors as values. A recoverable failure (bad option, unreadable file, bad
// stream) is an Error carried in a Result; our own bugs are asserts; a guest
// fault is neither: it is a trap and stays inside the CPU.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace godwit {

class Error {
 public:
  explicit Error(std::string message) : message_(std::move(message)) {}

  const std::string& message() const { return message_; }

  // Prefixes what was being done when the error passed through, so a message
  // reads outermost first: "loading plic: field enable: stream ended early".
  Error context(const std::string& what) && {
    message_ = what + ": " + message_;
    return std::move(*this);
  }
  Error context(const std::string& what) const& {
    Error copy = *this;
    return std::move(copy).context(what);
  }

 private:
  std::string message_;
};

template <class T>
using Result = std::expected<T, Error>;

// Result<void> reads better as Status at call sites that only succeed or fail.
using Status = Result<void>;

inline std::unexpected<Error> fail(std::string message) {
  return std::unexpected<Error>(Error(std::move(message)));
}

// Adds context to the error of a failed result, passing success through.
template <class T>
Result<T> with_context(Result<T> result, const std::string& what) {
  if (!result) return std::unexpected<Error>(std::move(result.error()).context(what));
  return result;
}

}  // namespace godwit
