// placeholder, filled in this session
#include <doctest/doctest.h>
