// The public profile calls (kiln/profile.h) over the runtime's recorder (runtime/profile.h).
#include "kiln/profile.h"

#include "runtime/profile.h"

namespace kiln {

void set_profiling(bool on) { runtime::profile::set_on(on); }
bool profiling() { return runtime::profile::on(); }
std::string profile_table() { return runtime::profile::table(); }
void reset_profile() { runtime::profile::reset(); }
void write_profile_trace(const std::string &path) { runtime::profile::write_trace(path); }

ProfileScope::ProfileScope() : was_on_(runtime::profile::on()) {
  runtime::profile::reset();
  runtime::profile::set_on(true);
}

ProfileScope::~ProfileScope() { runtime::profile::set_on(was_on_); }

}  // namespace kiln
