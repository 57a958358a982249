// Several relocatable objects as one byte string, for an artifact whose kernels were
// compiled in parts (compile_object.cpp): a magic that no ELF file starts with, the count,
// then each object's size and bytes. One object stays as it is, unframed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln::lower::cpu {

[[nodiscard]] std::string join_object_parts(const std::vector<std::string> &objects);

// The objects of join_object_parts' bytes (or the one unframed object); a kiln::Error for
// framing that is cut short or inconsistent.
[[nodiscard]] std::vector<std::string_view> split_object_parts(std::string_view bytes);

}  // namespace kiln::lower::cpu
