// The state-description core: how a device or hart names its migratable
// state, independent of any stream. A described type carries a kVMState
// (name, version, oldest version read) and a member template
// visit_state(Visitor&) naming every field in order; the visitors that save,
// load and describe it (migration/vmstate.hpp) walk that one description.
//
// A visitor offers:
//   field(name, value)             integers, bools, enums, std::array, nested
//                                  described structs
//   buffer(name, span<uint8_t>)    raw bytes of a fixed size
//   since(N).field(name, value)    present only in streams of version >= N
//   equal(name, value)             a value both sides must agree on
//   validate(ok, message)          a check of what was loaded
//   subsection(name, version, needed, body)
//   saving() / loading()           which way the walk goes
//
// Devices and harts include this header only: their state is plain data
// (`State snapshot() const`, `Status restore(const State&)`), and the
// stream side (migration/state_section.hpp) turns any such owner into a
// section of the migration stream.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include "base/error.hpp"

namespace godwit {

struct VMStateInfo {
  const char* name;
  uint32_t version_id;
  uint32_t minimum_version_id;
};

// A type whose state is described by a nested description.
template <class T>
concept StateStruct = requires {
  { T::kVMState } -> std::convertible_to<VMStateInfo>;
};

template <class T>
concept StateScalar = std::is_integral_v<T> || std::is_enum_v<T>;

namespace vmstate_detail {

template <class T>
struct ArrayTraits : std::false_type {};
template <class T, size_t N>
struct ArrayTraits<std::array<T, N>> : std::true_type {
  using element = T;
  static constexpr size_t length = N;
};

template <StateScalar T>
constexpr const char* scalar_type_name() {
  using U = std::conditional_t<std::is_enum_v<T>, std::underlying_type<T>, std::type_identity<T>>::type;
  if constexpr (std::is_same_v<U, bool>) return "bool";
  else if constexpr (std::is_signed_v<U>) {
    if constexpr (sizeof(U) == 1) return "int8";
    else if constexpr (sizeof(U) == 2) return "int16";
    else if constexpr (sizeof(U) == 4) return "int32";
    else return "int64";
  } else {
    if constexpr (sizeof(U) == 1) return "uint8";
    else if constexpr (sizeof(U) == 2) return "uint16";
    else if constexpr (sizeof(U) == 4) return "uint32";
    else return "uint64";
  }
}

}  // namespace vmstate_detail

// Returned by since(): the next field exists only in streams of at least
// `version`.
template <class Visitor>
class VersionGate {
 public:
  VersionGate(Visitor& visitor, uint32_t version) : visitor_(visitor), version_(version) {}
  template <class T>
  void field(std::string_view name, T& value) {
    visitor_.field_since(version_, name, value);
  }
  void buffer(std::string_view name, std::span<uint8_t> bytes) { visitor_.buffer_since(version_, name, bytes); }

 private:
  Visitor& visitor_;
  uint32_t version_;
};

// An owner of described state, Firecracker's shape: snapshot() cannot fail
// and returns plain data; restore() validates what the data cannot say for
// itself, applies it whole or not at all, and re-drives anything derived
// from it (interrupt lines, caches).
template <class Owner>
concept StateOwner = StateStruct<typename Owner::State> && requires(Owner& owner, const Owner& view,
                                                                     const typename Owner::State& state) {
  { view.snapshot() } -> std::same_as<typename Owner::State>;
  { owner.restore(state) } -> std::same_as<Status>;
};

}  // namespace godwit
