// IR text round trip and parser errors (filled in by the IR text work).
#include <doctest/doctest.h>
