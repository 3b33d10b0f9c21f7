#include "monitor/hmp_session.hpp"

#include <nlohmann/json.hpp>

#include "base/version.hpp"
#include "monitor/hmp.hpp"

namespace godwit {

HmpSession::HmpSession(VirtMachine& machine, CharBackend& backend) : machine_(machine), backend_(backend) {}

std::string HmpSession::banner() {
  return "godwit " + std::string(kGodwitVersion) + " monitor - type 'help' for more information\r\n";
}

size_t HmpSession::can_receive() { return busy_ || quiesced_ || !input_.empty() ? 0 : 4096; }

void HmpSession::quiesce() { quiesced_ = true; }

void HmpSession::unquiesce() {
  quiesced_ = false;
  process_input();
}

std::vector<uint8_t> HmpSession::save_connection() {
  const nlohmann::json state{{"input", input_}, {"line", line_}, {"escape", static_cast<int>(escape_)}};
  const std::string text = state.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return {text.begin(), text.end()};
}

void HmpSession::restore_connection(std::span<const uint8_t> bytes) {
  const auto state = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  const bool valid = state.is_object() && state.contains("input") && state["input"].is_string() &&
                     state.contains("line") && state["line"].is_string() &&
                     state["line"].get_ref<const std::string&>().size() <= kMaxLineBytes && state.contains("escape") &&
                     state["escape"].is_number_integer() && state["escape"].get<int>() >= 0 &&
                     state["escape"].get<int>() <= static_cast<int>(Escape::kCsi);
  if (!valid) {
    opened();
    return;
  }
  ++generation_;
  input_ = state["input"].get<std::string>();
  line_ = state["line"].get<std::string>();
  escape_ = static_cast<Escape>(state["escape"].get<int>());
  process_input();
}

void HmpSession::write(std::string_view text) {
  backend_.write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

void HmpSession::opened() {
  ++generation_;
  input_.clear();
  line_.clear();
  escape_ = Escape::kNone;
  write(banner() + std::string(kPrompt));
}

void HmpSession::closed() {
  ++generation_;
  input_.clear();
  line_.clear();
}

void HmpSession::receive(std::span<const uint8_t> bytes) {
  input_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  process_input();
}

void HmpSession::process_input() {
  if (quiesced_) return;
  size_t i = 0;
  std::string echo;
  for (; i < input_.size() && !busy_; ++i) {
    const unsigned char c = static_cast<unsigned char>(input_[i]);
    if (escape_ == Escape::kStart) {
      escape_ = (c == '[' || c == 'O') ? Escape::kCsi : Escape::kNone;
      continue;
    }
    if (escape_ == Escape::kCsi) {
      if (c >= 0x40 && c <= 0x7e) escape_ = Escape::kNone;  // cursor keys and the like: ignored
      continue;
    }
    if (c == 0x1b) {
      escape_ = Escape::kStart;
    } else if (c == '\r' || c == '\n') {
      // As QEMU's readline, each of CR and LF ends a line: "\r\n" is a
      // command and an empty line, which prints another prompt.
      echo += "\r\n";
      const std::string line = std::move(line_);
      line_.clear();
      if (line.find_first_not_of(" \t") == std::string::npos) {
        echo += kPrompt;
        continue;
      }
      write(echo);
      echo.clear();
      busy_ = true;
      std::weak_ptr<HmpSession> weak = weak_from_this();
      const uint64_t generation = generation_;
      VirtMachine& machine = machine_;
      machine_.run_on_main([weak, generation, line, &machine] {
        CommandContext context{machine};
        std::string output = hmp_execute(context, line);
        machine.io_loop().post([weak, generation, output = std::move(output)] {
          if (auto session = weak.lock()) session->finish(generation, output);
        });
      });
    } else if (c == 0x7f || c == 0x08) {
      if (!line_.empty()) {
        line_.pop_back();
        echo += "\b \b";
      }
    } else if (c >= 0x20 && line_.size() < kMaxLineBytes) {
      line_ += static_cast<char>(c);
      echo += static_cast<char>(c);
    }
  }
  input_.erase(0, i);
  if (!echo.empty()) write(echo);
  if (!busy_ && input_.empty()) backend_.frontend_ready();
}

void HmpSession::finish(uint64_t generation, const std::string& output) {
  busy_ = false;
  if (generation == generation_) write(output + std::string(kPrompt));
  process_input();
}

}  // namespace godwit
