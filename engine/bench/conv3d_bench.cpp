#include "engine/bench/conv3d_bench.h"

#include <omp.h>

#include "engine/bench/timing.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "kernels/cpu/conv3d.h"

namespace fdl::bench {

Conv3dTimes time_conv3d(const kernels::Conv3dShape& s, int repeat) {
  namespace kc = kernels::cpu;
  const int threads = omp_get_max_threads();
  Generator g(1);
  const Tensor x = rand_normal({s.n, s.cin, s.in[0], s.in[1], s.in[2]}, g);
  const Tensor w = rand_normal({s.cout, s.cin, s.k, s.k, s.k}, g);
  const Tensor gy = rand_normal({s.n, s.cout, s.out(0), s.out(1), s.out(2)}, g);
  Tensor y = Tensor::empty(gy.shape()), gx = Tensor::empty(x.shape()),
         gw = Tensor::empty(w.shape());
  Conv3dTimes r;
  {
    Tensor work = Tensor::empty({kc::conv3d_forward_scratch<float>(s, threads)});
    r.fwd = median_seconds(
        [&] {
          kc::conv3d_forward<float>(s, x.data<float>(), w.data<float>(), nullptr, y.data<float>(),
                                    work.data<float>(), threads);
        },
        repeat);
  }
  {
    Tensor work = Tensor::empty({kc::conv3d_backward_data_scratch<float>(s, threads)});
    r.dgrad = median_seconds(
        [&] {
          kc::conv3d_backward_data<float>(s, gy.data<float>(), w.data<float>(), gx.data<float>(),
                                          work.data<float>(), threads);
        },
        repeat);
  }
  {
    Tensor work = Tensor::empty({kc::conv3d_backward_weight_scratch<float>(s, threads)});
    r.wgrad = median_seconds(
        [&] {
          kc::conv3d_backward_weight<float>(s, x.data<float>(), gy.data<float>(), gw.data<float>(),
                                            work.data<float>(), threads);
        },
        repeat);
  }
  return r;
}

}  // namespace fdl::bench
