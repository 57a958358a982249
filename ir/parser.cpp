// Filled in by the IR text work.
#include "ir/parser.h"
