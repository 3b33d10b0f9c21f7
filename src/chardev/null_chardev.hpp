// -chardev null: output vanishes, input never arrives.
#pragma once

#include <string>

#include "chardev/char_backend.hpp"

namespace godwit {

class NullChardev final : public CharBackend {
 public:
  explicit NullChardev(std::string id) : id_(std::move(id)) {}

  const std::string& id() const override { return id_; }
  std::string_view kind() const override { return "null"; }
  std::string filename() const override { return "null"; }
  void write(std::span<const uint8_t>) override {}
  void attach(CharFrontend*) override {}
  void frontend_ready() override {}

 private:
  std::string id_;
};

}  // namespace godwit
