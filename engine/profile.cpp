#include "engine/profile.h"

#ifdef FDL_HAVE_CUDA
#include <nvtx3/nvToolsExt.h>
#endif

namespace fdl {

#ifdef FDL_HAVE_CUDA
ProfileRange::ProfileRange(const char* name) { nvtxRangePushA(name); }
ProfileRange::~ProfileRange() { nvtxRangePop(); }
#else
ProfileRange::ProfileRange(const char*) {}
ProfileRange::~ProfileRange() {}
#endif

}  // namespace fdl
