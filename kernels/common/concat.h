#pragma once
// The channel-concatenation index map, shared by the CUDA kernels and tested on the host.
// Source i, (n, c_i, s), occupies channels [offset_i, offset_i + c_i) of the (n, total, s)
// output; each sample's c_i * s source values form one contiguous run there.
#include <cstdint>

#include "kernels/common/elementwise.h"  // FDL_HD

namespace fdl::kernels {

// Output index of element e of a source whose samples hold `src_run` = c_i * s values,
// placed at `dst_offset` = offset_i * s within output samples of `dst_run` = total * s.
FDL_HD int64_t concat_dst_index(int64_t e, int64_t src_run, int64_t dst_offset, int64_t dst_run) {
  const int64_t b = e / src_run;
  return b * dst_run + dst_offset + (e - b * src_run);
}

}  // namespace fdl::kernels
