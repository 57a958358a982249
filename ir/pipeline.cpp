// Filled in by the passes work.
#include "ir/pipeline.h"
