// IR golden tests (filled in by the passes work).
#include <doctest/doctest.h>
