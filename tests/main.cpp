// doctest's main for the kiln test executable. The tests run strict: a kiln::InternalError
// fails the test that hit it instead of running that function eagerly.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "ir/settings.h"

int main(int argc, char **argv) {
  kiln::set_strict_internal_errors(true);
  // No disk cache unless a test asks for one: a warm cache from an earlier run would change
  // what the tests compile.
  kiln::set_cache_dir("");
  kiln::set_remote_cache_settings({});
  kiln::set_autotune_setting("off");  // tests that tune say so
  doctest::Context context(argc, argv);
  return context.run();
}
