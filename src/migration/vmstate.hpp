// VMState: each device describes its migratable state once, as a member
// template that names every field in order; three visitors walk that one
// description to save it, load it, and describe it (the stream's vmdesc).
//
//   struct State {
//     static constexpr VMStateInfo kVMState{"plic", 2, 1};
//     template <class Visitor> void visit_state(Visitor& v) {
//       v.field("pending", pending);
//       v.field("enable", enable);                  // std::array: one BE value each
//       v.since(2).field("claimed", claimed);       // older streams leave it as it was
//       v.subsection("plic/levels", 1, any_level_high(), [&](auto& sub) {
//         sub.field("levels", levels);
//       });
//     }
//   };
//
// The wire format is QEMU's: fields in declaration order with no tags,
// integers big-endian at their own width, bool as one byte, nested structs
// inline, then subsections (0x05, u8 name length, name, be32 version, body)
// for those whose `needed` is true. A stream version above the description's
// version or below its minimum is refused, as QEMU's vmstate_load_state does.
//
// Grow a description by adding fields with since(N) (raising version_id) or,
// better, a subsection; never by raising minimum_version_id without reason.
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/state_description.hpp"
#include "migration/stream_reader.hpp"
#include "migration/stream_writer.hpp"

namespace godwit {

inline constexpr uint8_t kSubsectionMarker = 0x05;  // QEMU_VM_SUBSECTION

// ---------------------------------------------------------------------------
// Saving: writes every field at the description's current version.
class StateSaver {
 public:
  explicit StateSaver(StreamWriter& out) : out_(out) {}

  static constexpr bool saving() { return true; }
  static constexpr bool loading() { return false; }

  VersionGate<StateSaver> since(uint32_t version) { return {*this, version}; }

  template <class T>
  void field(std::string_view name, T& value) {
    field_since(0, name, value);
  }
  template <class T>
  void field_since(uint32_t, std::string_view, T& value) {
    put(value);
  }
  void buffer(std::string_view name, std::span<uint8_t> bytes) { buffer_since(0, name, bytes); }
  void buffer_since(uint32_t, std::string_view, std::span<uint8_t> bytes) { out_.put_buffer(bytes); }
  // A value both sides must agree on (QEMU's "uint32 equal"), e.g. a count.
  template <StateScalar T>
  void equal(std::string_view, const T& value) {
    T copy = value;
    put(copy);
  }
  void validate(bool, std::string_view) {}

  template <class Fn>
  void subsection(std::string_view name, uint32_t version, bool needed, Fn&& body) {
    if (!needed) return;
    out_.put_u8(kSubsectionMarker);
    out_.put_short_string(name);
    out_.put_be32(version);
    body(*this);
  }

  template <StateStruct T>
  void save(T& object) {
    object.visit_state(*this);
  }

 private:
  template <class T>
  void put(T& value) {
    using Array = vmstate_detail::ArrayTraits<T>;
    if constexpr (Array::value) {
      for (auto& element : value) put(element);
    } else if constexpr (StateStruct<T>) {
      save(value);
    } else if constexpr (std::is_enum_v<T>) {
      auto raw = static_cast<std::underlying_type_t<T>>(value);
      put(raw);
    } else if constexpr (std::is_same_v<T, bool>) {
      out_.put_u8(value ? 1 : 0);
    } else {
      static_assert(std::is_integral_v<T>, "VMState fields are integers, bools, enums, arrays or described structs");
      const auto raw = static_cast<std::make_unsigned_t<T>>(value);
      if constexpr (sizeof(T) == 1) out_.put_u8(static_cast<uint8_t>(raw));
      else if constexpr (sizeof(T) == 2) out_.put_be16(raw);
      else if constexpr (sizeof(T) == 4) out_.put_be32(raw);
      else out_.put_be64(raw);
    }
  }

  StreamWriter& out_;
};

// ---------------------------------------------------------------------------
// Loading: reads the fields present in a stream of `version`, checking what
// it can, and names the field that failed.
class StateLoader {
 public:
  StateLoader(StreamReader& in, uint32_t version, std::string path)
      : in_(in), version_(version), path_(std::move(path)) {}

  static constexpr bool saving() { return false; }
  static constexpr bool loading() { return true; }
  // The version of the stream being loaded (for post-load fix-ups).
  uint32_t version() const { return version_; }

  // The first failure with the path of the field, or the reader's status.
  Status status() const {
    if (failure_) return std::unexpected(*failure_);
    return in_.status();
  }

  VersionGate<StateLoader> since(uint32_t version) { return {*this, version}; }

  template <class T>
  void field(std::string_view name, T& value) {
    field_since(0, name, value);
  }
  template <class T>
  void field_since(uint32_t since, std::string_view name, T& value) {
    if (in_.failed() || version_ < since) return;
    get(value);
    if (in_.failed()) annotate(name);
  }
  void buffer(std::string_view name, std::span<uint8_t> bytes) { buffer_since(0, name, bytes); }
  void buffer_since(uint32_t since, std::string_view name, std::span<uint8_t> bytes) {
    if (in_.failed() || version_ < since) return;
    in_.get_buffer(bytes);
    if (in_.failed()) annotate(name);
  }
  template <StateScalar T>
  void equal(std::string_view name, const T& expected) {
    if (in_.failed()) return;
    T value{};
    get(value);
    if (in_.failed()) return annotate(name);
    if (value != expected) {
      in_.fail_with(path_ + ": field " + std::string(name) + ": stream has " + std::to_string(+value) +
                    ", this machine has " + std::to_string(+expected));
    }
  }
  void validate(bool ok, std::string_view message) {
    if (!in_.failed() && !ok) in_.fail_with(path_ + ": " + std::string(message));
  }

  template <class Fn>
  void subsection(std::string_view name, uint32_t version, bool /*needed*/, Fn&& body) {
    if (in_.failed()) return;
    // QEMU peeks: a subsection marker followed by this name means it is here.
    const auto head = in_.peek(2 + name.size());
    if (head.size() < 2 + name.size() || head[0] != kSubsectionMarker || head[1] != name.size() ||
        std::string_view(reinterpret_cast<const char*>(head.data() + 2), name.size()) != name) {
      return;  // absent: the sender did not need it
    }
    in_.get_u8();
    in_.get_short_string();
    const uint32_t stream_version = in_.get_be32();
    if (in_.failed()) return annotate(name);
    if (stream_version > version) {
      in_.fail_with(std::string(name) + ": subsection version " + std::to_string(stream_version) +
                    " is newer than this godwit's " + std::to_string(version));
      return;
    }
    StateLoader nested(in_, stream_version, path_ + "/" + std::string(name));
    body(nested);
    absorb(nested);
  }

  // Fails when a subsection of this description that we do not know follows
  // (a newer sender's state we cannot honour).
  void check_no_unknown_subsection(std::string_view parent) {
    if (in_.failed()) return;
    const auto head = in_.peek(2 + parent.size() + 1);
    if (head.size() < 2 || head[0] != kSubsectionMarker) return;
    const std::string_view name(reinterpret_cast<const char*>(head.data() + 2), head.size() - 2);
    if (name.substr(0, parent.size()) == parent && name.size() > parent.size() && name[parent.size()] == '/') {
      in_.get_u8();
      const std::string full = in_.get_short_string();
      in_.fail_with(std::string(parent) + ": unknown subsection '" + full + "'");
    }
  }

  template <StateStruct T>
  void load(T& object) {
    object.visit_state(*this);
    check_no_unknown_subsection(T::kVMState.name);
  }

 private:
  template <class T>
  void get(T& value) {
    using Array = vmstate_detail::ArrayTraits<T>;
    if constexpr (Array::value) {
      for (auto& element : value) get(element);
    } else if constexpr (StateStruct<T>) {
      // Nested structs travel inline at their own current version.
      StateLoader nested(in_, T::kVMState.version_id, path_ + "/" + T::kVMState.name);
      nested.load(value);
      absorb(nested);
    } else if constexpr (std::is_enum_v<T>) {
      std::underlying_type_t<T> raw{};
      get(raw);
      value = static_cast<T>(raw);
    } else {
      static_assert(std::is_integral_v<T>, "VMState fields are integers, bools, enums, arrays or described structs");
      if constexpr (std::is_same_v<T, bool>) {
        const uint8_t byte = in_.get_u8();
        if (byte > 1) in_.fail_with("invalid bool " + std::to_string(byte));
        value = byte != 0;
      } else if constexpr (sizeof(T) == 1) value = static_cast<T>(in_.get_u8());
      else if constexpr (sizeof(T) == 2) value = static_cast<T>(in_.get_be16());
      else if constexpr (sizeof(T) == 4) value = static_cast<T>(in_.get_be32());
      else value = static_cast<T>(in_.get_be64());
    }
  }

  void annotate(std::string_view field) {
    // The reader keeps only its first error; say where it happened once.
    if (annotated_) return;
    annotated_ = true;
    Error error = in_.status().error();
    failure_ = std::move(error).context(path_ + ": field " + std::string(field));
  }
  // Keeps a nested loader's failure, which already names the inner field.
  void absorb(const StateLoader& nested) {
    if (nested.failure_ && !annotated_) {
      failure_ = nested.failure_;
      annotated_ = true;
    }
  }

  StreamReader& in_;
  uint32_t version_;
  std::string path_;
  bool annotated_ = false;
  std::optional<Error> failure_;
};

// ---------------------------------------------------------------------------
// Describing: the JSON that QEMU appends to a stream (vmdesc), so tools can
// decode device state without the device code.
class StateDescriber {
 public:
  static constexpr bool saving() { return true; }  // walks what a save writes
  static constexpr bool loading() { return false; }

  VersionGate<StateDescriber> since(uint32_t version) { return {*this, version}; }

  template <class T>
  void field(std::string_view name, T& value) {
    field_since(0, name, value);
  }
  template <class T>
  void field_since(uint32_t, std::string_view name, T& value) {
    fields_.push_back(describe_field(name, value));
  }
  void buffer(std::string_view name, std::span<uint8_t> bytes) { buffer_since(0, name, bytes); }
  void buffer_since(uint32_t, std::string_view name, std::span<uint8_t> bytes) {
    fields_.push_back({{"name", name}, {"type", "buffer"}, {"size", bytes.size()}});
  }
  template <StateScalar T>
  void equal(std::string_view name, const T&) {
    fields_.push_back({{"name", name},
                       {"type", std::string(vmstate_detail::scalar_type_name<T>()) + " equal"},
                       {"size", sizeof(T)}});
  }
  void validate(bool, std::string_view) {}

  template <class Fn>
  void subsection(std::string_view name, uint32_t version, bool needed, Fn&& body) {
    if (!needed) return;  // vmdesc describes what the stream holds
    StateDescriber nested;
    body(nested);
    subsections_.push_back({{"vmsd_name", name}, {"version", version}, {"fields", nested.fields_}});
    if (!nested.subsections_.empty()) subsections_.back()["subsections"] = nested.subsections_;
  }

  template <StateStruct T>
  nlohmann::json describe(T& object) {
    StateDescriber nested;
    object.visit_state(nested);
    nlohmann::json out = {{"vmsd_name", T::kVMState.name}, {"version", T::kVMState.version_id}, {"fields", nested.fields_}};
    if (!nested.subsections_.empty()) out["subsections"] = nested.subsections_;
    return out;
  }

 private:
  template <class T>
  nlohmann::json describe_field(std::string_view name, T& value) {
    using Array = vmstate_detail::ArrayTraits<T>;
    if constexpr (Array::value) {
      using E = typename Array::element;
      if constexpr (std::is_same_v<E, uint8_t>) {
        return {{"name", name}, {"type", "buffer"}, {"size", Array::length}};
      } else {
        nlohmann::json element = describe_field(name, value[0]);
        element["array_len"] = Array::length;
        return element;
      }
    } else if constexpr (StateStruct<T>) {
      return {{"name", name}, {"type", "struct"}, {"struct", describe(value)}, {"size", sizeof(T)}};
    } else {
      return {{"name", name}, {"type", vmstate_detail::scalar_type_name<T>()}, {"size", sizeof(T)}};
    }
  }

  nlohmann::json fields_ = nlohmann::json::array();
  nlohmann::json subsections_ = nlohmann::json::array();
};

// ---------------------------------------------------------------------------

// Writes the body of `object`'s state (fields, then needed subsections).
template <StateStruct T>
void save_state(StreamWriter& out, T& object) {
  StateSaver saver(out);
  saver.save(object);
}

// Loads a body written at `stream_version`, refusing versions this
// description cannot read. On failure `object` may be partly written: load
// into a copy where that matters.
template <StateStruct T>
Status load_state(StreamReader& in, T& object, uint32_t stream_version) {
  const VMStateInfo& info = T::kVMState;
  if (stream_version > info.version_id) {
    return fail(std::string(info.name) + ": stream version " + std::to_string(stream_version) +
                " is newer than this godwit's " + std::to_string(info.version_id));
  }
  if (stream_version < info.minimum_version_id) {
    return fail(std::string(info.name) + ": stream version " + std::to_string(stream_version) +
                " is older than the oldest this godwit reads (" + std::to_string(info.minimum_version_id) + ")");
  }
  StateLoader loader(in, stream_version, info.name);
  loader.load(object);
  return loader.status();
}

// The vmdesc JSON of `object`: vmsd_name, version, fields, subsections.
template <StateStruct T>
nlohmann::json describe_state(T& object) {
  StateDescriber describer;
  return describer.describe(object);
}

}  // namespace godwit
