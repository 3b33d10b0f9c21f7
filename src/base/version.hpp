// The one place godwit's version is written.
#pragma once

#include <string_view>

namespace godwit {

inline constexpr std::string_view kGodwitVersion = "0.1.0";

}  // namespace godwit
