// Device names in the user's vocabulary.
#include "ir/device.h"

#include <fmt/format.h>

namespace kiln {

std::string Device::name() const {
  return kind == Kind::Cpu ? std::string("cpu") : fmt::format("cuda:{}", index);
}

}  // namespace kiln
