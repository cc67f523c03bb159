#pragma once
// The one way a CUDA kernel is launched:
//   launch(what, kernel, grid, block, dynamic_smem, args...)
// checks the configuration against the device's limits (an error naming `what`, before
// anything runs), starts the kernel on stream(), and checks the launch. With
// FDL_CUDA_SYNC=1 it also waits for the kernel, so a fault is reported by the op whose
// kernel caused it rather than by a later call. The emulated target (kernels/emu) runs the
// same kernel on the CPU.
#include <cstddef>
#include <tuple>
#include <utility>

#include "kernels/cuda/runtime.h"

namespace fdl::kernels::cuda {

namespace detail {
void check_configuration(const char* what, dim3 grid, dim3 block, size_t smem, const void* kernel);
void finish_launch(const char* what);
}  // namespace detail

template <class... P, class... A>
void launch(const char* what, void (*kernel)(P...), dim3 grid, dim3 block, size_t smem,
            A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "one argument per kernel parameter");
  const void* k = reinterpret_cast<const void*>(kernel);
  detail::check_configuration(what, grid, block, smem, k);
  std::tuple<P...> params(std::forward<A>(args)...);
#if defined(FDL_CUDA_EMU)
  const cudaError_t e =
      emu::launch(what, k, grid, block, smem, stream(), [&] { std::apply(kernel, params); });
#else
  const cudaError_t e = std::apply(
      [&](auto&... p) {
        void* a[] = {&p...};
        return cudaLaunchKernel(k, grid, block, a, smem, stream());
      },
      params);
#endif
  check(e, what);
  detail::finish_launch(what);
}

}  // namespace fdl::kernels::cuda
