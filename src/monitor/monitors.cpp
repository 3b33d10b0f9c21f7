#include "monitor/monitors.hpp"

namespace godwit {

Result<std::unique_ptr<Monitors>> Monitors::create(VirtMachine& machine) {
  std::unique_ptr<Monitors> monitors(new Monitors(machine));
  std::vector<std::weak_ptr<QmpSession>> listeners;
  for (const MonitorConfig& config : machine.config().monitors) {
    CharBackend* backend = machine.find_chardev(config.chardev_id);
    if (backend == nullptr) return fail("-mon: chardev '" + config.chardev_id + "' not found");
    backend->set_output_limit(kOutputLimitBytes);
    monitors->backends_.push_back(backend);
    if (config.control) {
      auto session = std::make_shared<QmpSession>(machine, *backend, config.pretty);
      listeners.push_back(session);
      backend->attach(session.get());
      monitors->qmp_sessions_.push_back(std::move(session));
    } else {
      auto session = std::make_shared<HmpSession>(machine, *backend);
      backend->attach(session.get());
      monitors->hmp_sessions_.push_back(std::move(session));
    }
  }
  // Events happen on the main thread; clients are served on the loop, in
  // the order events and replies were posted there.
  machine.set_event_listener([listeners, &loop = machine.io_loop()](const MachineEvent& event) {
    loop.post([listeners, message = make_event(event)] {
      for (const auto& weak : listeners) {
        if (auto session = weak.lock()) session->send_event(message);
      }
    });
  });
  return monitors;
}

Monitors::~Monitors() {
  machine_.set_event_listener(nullptr);
  for (CharBackend* backend : backends_) backend->attach(nullptr);
  // Every attach above, and any reply posted before, has run after this.
  machine_.io_loop().run_and_wait([] {});
}

}  // namespace godwit
