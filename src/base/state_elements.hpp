// Visits a std::vector whose length the machine's configuration fixes (one
// entry per hart, per interrupt source, per context) as one field per
// element, named "name[i]". On the wire that is exactly QEMU's
// VMSTATE_VARRAY_UINT32 of the same element type: the values back to back,
// big-endian, no count. The count itself travels once, as an `equal` field
// visited before the array, so a destination built differently fails on the
// count before reading a single element.
#pragma once

#include <charconv>
#include <cstddef>
#include <string_view>
#include <vector>

namespace godwit {

template <class Visitor, class T>
void visit_elements(Visitor& v, std::string_view name, std::vector<T>& values) {
  char label[64];
  const size_t prefix = name.size() < sizeof label - 24 ? name.size() : sizeof label - 24;
  name.copy(label, prefix);
  for (size_t i = 0; i < values.size(); ++i) {
    char* end = label + prefix;
    *end++ = '[';
    end = std::to_chars(end, label + sizeof label - 1, i).ptr;
    *end++ = ']';
    v.field(std::string_view(label, static_cast<size_t>(end - label)), values[i]);
  }
}

// The index of the first element failing `ok`, or values.size().
template <class T, class Predicate>
size_t first_failing(const std::vector<T>& values, Predicate ok) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!ok(values[i], i)) return i;
  }
  return values.size();
}

}  // namespace godwit
