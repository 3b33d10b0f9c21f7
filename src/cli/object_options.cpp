// -object memory-backend-{ram,memfd,file},id=ID,size=SIZE[,share=on|off][,mem-path=PATH]
// -object rng-builtin,id=ID and rng-random,id=ID[,filename=PATH] (virtio-rng's sources)
#include "base/size_parse.hpp"
#include "base/key_value_list.hpp"
#include "cli/option_handlers.hpp"

namespace godwit {

Status handle_object(ParseState& state, std::string_view argument) {
  auto list = KeyValueList::parse(argument, "qom-type");
  if (!list) return std::unexpected(std::move(list.error()));
  const std::string type = list->get("qom-type").value_or("");
  if (type == "rng-builtin" || type == "rng-random") {
    RngBackendConfig rng;
    rng.builtin = type == "rng-builtin";
    auto status = rng.builtin ? list->check_keys({"qom-type", "id"}) : list->check_keys({"qom-type", "id", "filename"});
    if (!status) return status;
    rng.id = list->get("id").value_or("");
    if (rng.id.empty()) return fail("parameter 'id' is missing");
    if (!rng.builtin) rng.filename = list->get("filename").value_or(rng.filename);
    state.config().rng_backends.push_back(std::move(rng));
    return {};
  }
  MemoryBackendConfig config;
  if (type == "memory-backend-ram") {
    config.kind = MemoryBackendKind::kRam;
  } else if (type == "memory-backend-memfd") {
    config.kind = MemoryBackendKind::kMemfd;
    config.share = true;  // QEMU's default for memfd, the point of using it
  } else if (type == "memory-backend-file") {
    config.kind = MemoryBackendKind::kFile;
  } else {
    return fail("unsupported object type '" + type +
                "' (memory-backend-ram, memory-backend-memfd, memory-backend-file, rng-builtin, rng-random)");
  }
  const bool is_file = config.kind == MemoryBackendKind::kFile;
  auto status = is_file ? list->check_keys({"qom-type", "id", "size", "share", "mem-path"})
                        : list->check_keys({"qom-type", "id", "size", "share"});
  if (!status) return status;

  config.id = list->get("id").value_or("");
  if (config.id.empty()) return fail("parameter 'id' is missing");
  const auto size_text = list->get("size");
  if (!size_text) return fail("parameter 'size' is missing");
  const auto size = parse_size(*size_text, kByteSize);
  if (!size) return fail("invalid size '" + *size_text + "'");
  if (*size == 0) return fail("property 'size' of " + type + " doesn't take value '0'");
  config.size_bytes = *size;
  auto share = list->get_bool("share");
  if (!share) return std::unexpected(std::move(share.error()));
  if (*share) config.share = **share;
  if (is_file) {
    config.mem_path = list->get("mem-path").value_or("");
    if (config.mem_path.empty()) return fail("parameter 'mem-path' is missing");
  }
  state.config().memory_backends.push_back(std::move(config));
  return {};
}

}  // namespace godwit
