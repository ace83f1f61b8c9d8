// CJITStubs: C and assembly only where Swift cannot go (see ../shared/DESIGN.md).
#include "CJITStubs.h"
