// Filled in by the IR text work.
#include "ir/printer.h"
