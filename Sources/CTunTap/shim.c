// SwiftPM needs one C source file in a C target; CTunTap's code is all static inline in
// include/CTunTap.h.
#include "CTunTap.h"
