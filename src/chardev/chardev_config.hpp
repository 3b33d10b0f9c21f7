// What the command line says about one chardev, as plain data: the CLI
// fills it, the chardev factory opens it.
#pragma once

#include <cstdint>
#include <string>

namespace godwit {

enum class ChardevKind { kStdio, kNull, kFile, kSocket };

// -chardev KIND,id=ID,... and the anonymous chardevs that -serial creates.
struct ChardevConfig {
  std::string id;
  ChardevKind kind = ChardevKind::kNull;
  std::string path;        // file: path=; socket: path= for unix sockets
  std::string host;        // socket: host= for tcp
  uint16_t port = 0;       // socket: port= for tcp
  bool server = false;     // socket: server=on
  bool wait = true;        // socket: wait=off to not block until a client connects
  bool append = false;     // file: append=on
  bool signal = true;      // stdio: signal=off stops Ctrl-C from killing godwit
  bool mux = false;        // stdio with -nographic: Ctrl-A escapes as QEMU's mux
};

}  // namespace godwit
