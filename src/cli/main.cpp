// godwit: command line to running machine.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/file_io.hpp"
#include "cli/command_line.hpp"
#include "machine/virt_machine.hpp"
#include "migration/address_space_keeper.hpp"
#include "migration/cpr_state.hpp"
#include "migration/migration_uri.hpp"
#include "monitor/monitors.hpp"

namespace godwit {
namespace {

constexpr const char kProgram[] = "godwit";

int report(const Error& error) {
  std::fprintf(stderr, "%s: %s\n", kProgram, error.message().c_str());
  return 1;
}


// Turns SIGINT/SIGTERM/SIGHUP into an orderly quit, as QEMU does ("terminating
// on signal N"). The signals are blocked in every thread and collected here.
class SignalWatcher {
 public:
  explicit SignalWatcher(VirtMachine& machine) {
    thread_ = std::thread([&machine] {
      const sigset_t watched = watched_signals();
      for (;;) {
        int signal = 0;
        if (sigwait(&watched, &signal) != 0) continue;
        if (signal == kStopSignal) return;
        std::fprintf(stderr, "%s: terminating on signal %d\n", kProgram, signal);
        machine.request_quit(0);
      }
    });
  }
  ~SignalWatcher() {
    pthread_kill(thread_.native_handle(), kStopSignal);
    thread_.join();
  }

  // Call before any thread is created so every thread inherits the mask.
  static void block_signals() {
    const sigset_t watched = watched_signals();
    pthread_sigmask(SIG_BLOCK, &watched, nullptr);
    ::signal(SIGPIPE, SIG_IGN);  // a vanished socket peer is an error value, not a death
  }

 private:
  static constexpr int kStopSignal = SIGUSR1;
  static sigset_t watched_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int signal : {SIGINT, SIGTERM, SIGHUP, kStopSignal}) sigaddset(&set, signal);
    return set;
  }
  std::thread thread_;
};

int run(const std::vector<std::string>& args) {
  auto command_line = parse_command_line(args);
  if (!command_line) return report(command_line.error());
  switch (command_line->action) {
    case CommandLine::Action::kVersion: std::fputs(version_text().c_str(), stdout); return 0;
    case CommandLine::Action::kHelp: std::fputs(help_text().c_str(), stdout); return 0;
    case CommandLine::Action::kListMachines: std::fputs(machine_list_text().c_str(), stdout); return 0;
    case CommandLine::Action::kRun: break;
  }
  const MachineConfig& config = command_line->config;

  // cpr-transfer's new side: the old godwit's descriptors come first, so
  // that the machine is built on the memory its guest runs in. Signals are
  // not blocked yet: a SIGTERM while waiting for them ends the process.
  std::unique_ptr<CprReceiver> cpr_channel;
  // cpr-exec: the old program's state came across the exec.
  reap_address_space_keeper();
  auto exec_state = take_cpr_exec_state();
  if (!exec_state) return report(exec_state.error());
  std::optional<CprState> handed_over = std::move(*exec_state);
  if (handed_over && config.incoming.empty()) {
    return report(Error("cpr-exec: the command must give -incoming (where the old program wrote the state)"));
  }
  if (!config.cpr_incoming.empty()) {
    if (config.incoming.empty()) return report(Error("-incoming: a cpr channel needs a main channel (a URI or defer)"));
    auto channel = parse_incoming_channel_json(config.cpr_incoming);
    if (!channel) return report(channel.error());
    auto address = cpr_channel_address(channel->address);
    if (!address) return report(address.error());
    auto receiver = CprReceiver::listen(*address);
    if (!receiver) return report(receiver.error());
    auto state = (*receiver)->receive();
    if (!state) return report(state.error());
    cpr_channel = std::move(*receiver);
    handed_over = std::move(*state);
  }
  SignalWatcher::block_signals();
  auto machine = VirtMachine::create(config, std::move(cpr_channel), handed_over ? &*handed_over : nullptr);
  if (!machine) return report(machine.error());

  if (!config.dumpdtb_path.empty()) {
    const auto& tree = (*machine)->device_tree();
    if (auto status = write_file(config.dumpdtb_path, tree); !status) {
      return report(status.error().context("dumpdtb"));
    }
    return 0;
  }
  if (!config.pidfile_path.empty()) {
    const std::string pid = std::to_string(getpid()) + "\n";
    if (auto status = write_file(config.pidfile_path, {reinterpret_cast<const uint8_t*>(pid.data()), pid.size()}); !status) {
      return report(status.error().context("-pidfile"));
    }
  }

  int exit_status = 0;
  {
    if (auto status = (*machine)->listen_incoming_from_command_line(); !status) return report(status.error());
    // Monitors come with the machine and go before it.
    auto monitors = Monitors::create(**machine);
    if (!monitors) return report(monitors.error());
    SignalWatcher signals(**machine);
    (*machine)->start();
    (*machine)->accept_incoming();
    exit_status = (*machine)->run_until_exit();
  }
  machine->reset();  // stops harts and the I/O loop, restores the terminal
  if (!config.pidfile_path.empty()) ::unlink(config.pidfile_path.c_str());
  return exit_status;
}

}  // namespace
}  // namespace godwit

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return godwit::run(args);
}
