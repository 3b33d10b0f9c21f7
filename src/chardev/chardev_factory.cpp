#include "chardev/chardev_factory.hpp"

#include "chardev/file_chardev.hpp"
#include "chardev/null_chardev.hpp"
#include "chardev/socket_chardev.hpp"
#include "chardev/stdio_chardev.hpp"

namespace godwit {
namespace {

template <class T>
Result<std::unique_ptr<CharBackend>> upcast(Result<std::unique_ptr<T>> result) {
  if (!result) return std::unexpected(std::move(result.error()));
  return std::unique_ptr<CharBackend>(std::move(*result));
}

}  // namespace

Result<std::unique_ptr<CharBackend>> create_chardev(const ChardevConfig& config,
                                                    ChardevContext& context) {
  switch (config.kind) {
    case ChardevKind::kNull: return std::make_unique<NullChardev>(config.id);
    case ChardevKind::kFile: return upcast(FileChardev::create(config, context.take_handed_over_fd));
    case ChardevKind::kStdio:
      return upcast(StdioChardev::create(config, context.loop, context.request_quit));
    case ChardevKind::kSocket:
      if (config.path.empty() && config.host.empty() && config.port == 0) {
        return fail("chardev '" + config.id + "': socket: no path or port given");
      }
      return upcast(SocketChardev::create(config, context.loop, context.take_handed_over_fd));
  }
  return fail("chardev '" + config.id + "': unknown backend");
}

}  // namespace godwit
