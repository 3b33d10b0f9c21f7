#include "monitor/qmp_session.hpp"

#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <set>
#include <vector>

#include "monitor/command_context.hpp"

namespace godwit {
namespace {

// Received descriptors waiting for getfd/add-fd; past this, new ones are
// closed rather than hoarded.
constexpr size_t kMaxReceivedFds = 64;
// Messages parsed ahead of the one being served.
constexpr size_t kMaxPending = 16;

Json error_json(const QmpError& error) { return Json{{"class", error.error_class}, {"desc", error.desc}}; }

Json make_reply(const QmpResult<Json>& result, const Json* id) {
  Json reply = Json::object();
  if (result) {
    reply["return"] = *result;
  } else {
    reply["error"] = error_json(result.error());
  }
  if (id != nullptr) reply["id"] = *id;
  return reply;
}

// QEMU's lexer names a bare word it does not know; anything else is a
// value it expected and did not find.
std::string parse_error(const std::string& text) {
  if (!text.empty() && std::isalpha(static_cast<unsigned char>(text[0]))) {
    return "JSON parse error, invalid keyword '" + text + "'";
  }
  if (!text.empty() && (static_cast<unsigned char>(text[0]) >= 0x80 || std::iscntrl(static_cast<unsigned char>(text[0])))) {
    return "JSON parse error, stray '" + text.substr(0, 1) + "'";
  }
  return "JSON parse error, expecting value";
}

// QEMU's parser refuses an object that repeats a member name; nlohmann's
// keeps the last. This walks the message once more to find repeats.
class DuplicateKeyCheck final : public nlohmann::json_sax<Json> {
 public:
  bool duplicate = false;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& name) override {
    if (!keys_.back().insert(name).second) duplicate = true;
    return !duplicate;
  }
  bool end_object() override {
    keys_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  std::vector<std::set<std::string>> keys_;
};

bool has_duplicate_key(const std::string& text) {
  DuplicateKeyCheck check;
  Json::sax_parse(text, &check, nlohmann::detail::input_format_t::json, /*strict=*/true, /*ignore_comments=*/false);
  return check.duplicate;
}

}  // namespace

QmpSession::QmpSession(VirtMachine& machine, CharBackend& backend, bool pretty)
    : machine_(machine), backend_(backend), pretty_(pretty) {}

QmpSession::~QmpSession() { close_received_fds(); }

void QmpSession::close_received_fds() {
  for (int fd : received_fds_) ::close(fd);
  received_fds_.clear();
}

size_t QmpSession::can_receive() { return busy_ || quiesced_ || pending_.size() >= kMaxPending ? 0 : 4096; }

void QmpSession::quiesce() { quiesced_ = true; }

void QmpSession::unquiesce() {
  quiesced_ = false;
  process_pending();
}

std::vector<uint8_t> QmpSession::save_connection() {
  Json pending = Json::array();
  for (const auto& message : pending_) {
    pending.push_back(message.error ? Json{{"error", *message.error}} : Json{{"text", message.text}});
  }
  const Json state{{"negotiated", negotiated_},
                   {"pending", std::move(pending)},
                   {"splitter", splitter_.save()},
                   {"migration_events", machine_.migration().events_enabled()}};
  const std::string text = state.dump(-1, ' ', false, Json::error_handler_t::replace);
  return {text.begin(), text.end()};
}

void QmpSession::restore_connection(std::span<const uint8_t> bytes) {
  const Json state = Json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  const auto flag = [&](const char* name) {
    return state.is_object() && state.contains(name) && state[name].is_boolean() && state[name].get<bool>();
  };
  bool valid = state.is_object() && state.contains("pending") && state["pending"].is_array() &&
               state["pending"].size() <= kMaxPending && state.contains("splitter") &&
               splitter_.restore(state["splitter"]);
  std::deque<JsonStreamSplitter::Message> pending;
  for (const Json& message : valid ? state["pending"] : Json::array()) {
    if (message.contains("text") && message["text"].is_string()) {
      pending.push_back({message["text"].get<std::string>(), std::nullopt});
    } else if (message.contains("error") && message["error"].is_string()) {
      pending.push_back({"", message["error"].get<std::string>()});
    } else {
      valid = false;
    }
  }
  if (!valid) {
    // Nothing usable came: treat the client as one that just connected.
    splitter_.reset();
    opened();
    return;
  }
  ++generation_;
  negotiated_ = flag("negotiated");
  pending_ = std::move(pending);
  if (negotiated_ && flag("migration_events")) {
    // The old program stopped speaking before its migration completed.
    MachineEvent event{MachineEvent::Kind::kMigration};
    event.migration_status = "completed";
    send(make_event(event));
  }
  process_pending();
}

void QmpSession::opened() {
  ++generation_;
  negotiated_ = false;
  splitter_.reset();
  pending_.clear();
  close_received_fds();
  const CommandSpec* version = find_qmp_command("query-version");
  CommandContext context{machine_};
  Json greeting{{"QMP", Json{{"version", *version->handler(context, Json::object())}, {"capabilities", Json::array({"oob"})}}}};
  send(greeting);
}

void QmpSession::closed() {
  ++generation_;
  negotiated_ = false;
  splitter_.reset();
  pending_.clear();
  close_received_fds();
}

void QmpSession::receive_fds(std::vector<int> fds) {
  for (int fd : fds) {
    if (received_fds_.size() < kMaxReceivedFds) {
      received_fds_.push_back(fd);
    } else {
      ::close(fd);
    }
  }
}

void QmpSession::receive(std::span<const uint8_t> bytes) {
  for (auto& message : splitter_.feed(bytes)) pending_.push_back(std::move(message));
  process_pending();
}

void QmpSession::process_pending() {
  if (quiesced_) return;
  while (!busy_ && !pending_.empty()) {
    const JsonStreamSplitter::Message message = std::move(pending_.front());
    pending_.pop_front();
    if (!handle(message)) busy_ = true;
  }
  if (!busy_ && pending_.size() < kMaxPending) backend_.frontend_ready();
}

void QmpSession::send(const Json& message) {
  std::string text = pretty_ ? message.dump(4) : message.dump(-1, ' ', false, Json::error_handler_t::replace);
  text += "\r\n";
  backend_.write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

void QmpSession::send_event(const Json& event) {
  if (negotiated_) send(event);
}

void QmpSession::finish(uint64_t generation, const Json& reply) {
  busy_ = false;
  if (generation == generation_) send(reply);
  process_pending();
}

bool QmpSession::handle(const JsonStreamSplitter::Message& message) {
  if (message.error) {
    send(make_reply(generic_error(*message.error), nullptr));
    return true;
  }
  const Json request = Json::parse(message.text, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    send(make_reply(generic_error(parse_error(message.text)), nullptr));
    return true;
  }
  if (message.text.find('{') != std::string::npos && has_duplicate_key(message.text)) {
    send(make_reply(generic_error("JSON parse error, duplicate key"), nullptr));
    return true;
  }
  if (!request.is_object()) {
    send(make_reply(generic_error("QMP input must be a JSON object"), nullptr));
    return true;
  }
  const Json* id = request.contains("id") ? &request["id"] : nullptr;
  auto reply_error = [&](std::unexpected<QmpError> error) {
    send(make_reply(QmpResult<Json>(std::move(error)), id));
    return true;
  };
  // QEMU checks the members in the request's order.
  for (auto it = request.begin(); it != request.end(); ++it) {
    const std::string& key = it.key();
    if (key != "execute" && key != "exec-oob" && key != "arguments" && key != "id") {
      return reply_error(generic_error("QMP input member '" + key + "' is unexpected"));
    }
  }
  if (request.contains("exec-oob")) {
    if (!request["exec-oob"].is_string()) return reply_error(generic_error("QMP input member 'exec-oob' must be a string"));
    if (request.contains("execute")) {
      return reply_error(generic_error("QMP input must not have both 'execute' and 'exec-oob'"));
    }
    // No command of godwit's runs out of band.
    return reply_error(generic_error("The command " + request["exec-oob"].get<std::string>() + " does not support OOB"));
  }
  if (!request.contains("execute")) return reply_error(generic_error("QMP input lacks member 'execute'"));
  if (!request["execute"].is_string()) return reply_error(generic_error("QMP input member 'execute' must be a string"));
  if (request.contains("arguments") && !request["arguments"].is_object()) {
    return reply_error(generic_error("QMP input member 'arguments' must be an object"));
  }
  const std::string name = request["execute"].get<std::string>();
  const bool is_negotiation = name == "qmp_capabilities";
  if (!negotiated_ && !is_negotiation) {
    return reply_error(command_not_found("Expecting capabilities negotiation with 'qmp_capabilities'"));
  }
  if (negotiated_ && is_negotiation) {
    return reply_error(command_not_found("Capabilities negotiation is already complete, command ignored"));
  }
  const CommandSpec* spec = find_qmp_command(name);
  if (spec == nullptr) return reply_error(command_not_found("The command " + name + " has not been found"));
  const Json arguments = request.contains("arguments") ? request["arguments"] : Json::object();

  if (spec->thread == CommandThread::kIoLoop) {
    CommandContext context{machine_, &received_fds_};
    auto result = run_qmp_command(*spec, context, arguments);
    if (result && is_negotiation) negotiated_ = true;
    send(make_reply(result, id));
    return true;
  }
  std::weak_ptr<QmpSession> weak = weak_from_this();
  const uint64_t generation = generation_;
  const std::optional<Json> id_copy = id ? std::optional<Json>(*id) : std::nullopt;
  VirtMachine& machine = machine_;
  machine_.run_on_main([weak, generation, spec, arguments, id_copy, &machine] {
    CommandContext context{machine};
    Json reply = make_reply(run_qmp_command(*spec, context, arguments), id_copy ? &*id_copy : nullptr);
    machine.io_loop().post([weak, generation, reply = std::move(reply)] {
      if (auto session = weak.lock()) session->finish(generation, reply);
    });
  });
  return false;
}

Json make_event(const MachineEvent& event) {
  timeval now{};
  gettimeofday(&now, nullptr);
  Json message{{"timestamp", Json{{"seconds", now.tv_sec}, {"microseconds", now.tv_usec}}}};
  switch (event.kind) {
    case MachineEvent::Kind::kStop: message["event"] = "STOP"; break;
    case MachineEvent::Kind::kResume: message["event"] = "RESUME"; break;
    case MachineEvent::Kind::kPowerdown: message["event"] = "POWERDOWN"; break;
    case MachineEvent::Kind::kShutdown:
    case MachineEvent::Kind::kReset:
      message["event"] = event.kind == MachineEvent::Kind::kShutdown ? "SHUTDOWN" : "RESET";
      message["data"] = Json{{"guest", shutdown_cause_is_guest(event.cause)},
                             {"reason", shutdown_cause_name(event.cause)}};
      break;
    case MachineEvent::Kind::kMigration:
      message["event"] = "MIGRATION";
      message["data"] = Json{{"status", event.migration_status}};
      break;
    case MachineEvent::Kind::kMigrationPass:
      message["event"] = "MIGRATION_PASS";
      message["data"] = Json{{"pass", event.pass}};
      break;
  }
  return message;
}

}  // namespace godwit
