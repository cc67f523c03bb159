#include "engine/ops/concat.h"

#include <string>

#include "engine/autograd.h"
#include "engine/ops/checks.h"
#include "engine/profile.h"
#include "kernels/cpu/concat.h"
#ifdef FDL_HAVE_CUDA
#include "kernels/cuda/concat.h"
#endif

namespace fdl {

namespace kc = kernels::cpu;

namespace {

template <class T>
void concat_on(Device d, const T* const* srcs, const int64_t* chans, int k, T* out, int64_t n, int64_t s) {
  if (d == Device::CPU) {
    kc::concat_channels(srcs, chans, k, out, n, s);
  } else {
#ifdef FDL_HAVE_CUDA
    kernels::cuda::concat_channels(srcs, chans, k, out, n, s);
#else
    ops::no_cuda("concat_channels");
#endif
  }
}

template <class T>
void split_on(Device d, const T* g, T* const* dsts, const int64_t* chans, int k, int64_t n, int64_t s) {
  if (d == Device::CPU) {
    kc::split_channels(g, dsts, chans, k, n, s);
  } else {
#ifdef FDL_HAVE_CUDA
    kernels::cuda::split_channels(g, dsts, chans, k, n, s);
#else
    ops::no_cuda("concat_channels");
#endif
  }
}

}  // namespace

Tensor concat_channels(const std::vector<Tensor>& xs) {
  constexpr const char* op = "concat_channels";
  FDL_PROFILE_RANGE(op);
  FDL_CHECK(!xs.empty(), op, ": no tensors to concatenate");
  const int k = int(xs.size());
  std::vector<int64_t> chans(static_cast<size_t>(k));
  int64_t total = 0;
  for (int i = 0; i < k; ++i) {
    const std::string arg = "xs[" + std::to_string(i) + "]";
    ops::check_float(xs[i], op, arg.c_str());
    ops::check_ndim(xs[i], 5, op, arg.c_str());
    if (i > 0) {
      FDL_CHECK(xs[i].dtype() == xs[0].dtype(), op, ": '", arg, "' is ", dtype_name(xs[i].dtype()),
                " but 'xs[0]' is ", dtype_name(xs[0].dtype()));
      FDL_CHECK(xs[i].device() == xs[0].device(), op, ": '", arg, "' is on ",
                device_name(xs[i].device()), " but 'xs[0]' is on ", device_name(xs[0].device()));
      for (int d : {0, 2, 3, 4})
        FDL_CHECK(xs[i].size(d) == xs[0].size(d), op, ": '", arg, "' has shape ",
                  xs[i].shape().str(), " but 'xs[0]' has shape ", xs[0].shape().str(),
                  "; all dimensions but 1 must match");
    }
    chans[size_t(i)] = xs[i].size(1);
    total += chans[size_t(i)];
  }
  const Shape& s0 = xs[0].shape();
  const int64_t n = s0[0], s = s0.numel_from(2);
  Tensor out = Tensor::empty({n, total, s0[2], s0[3], s0[4]}, xs[0].dtype(), xs[0].device());
  dispatch_float(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<const T*> srcs;
    for (const Tensor& x : xs) srcs.push_back(x.data<T>());
    concat_on(out.device(), srcs.data(), chans.data(), k, out.data<T>(), n, s);
  });
  if (autograd::wants(xs)) {
    std::vector<bool> need;
    for (const Tensor& x : xs) need.push_back(x.requires_grad());
    autograd::record(op, out, xs, [chans, need, s0, n, s, k](const Tensor& g) {
      std::vector<Tensor> gx(static_cast<size_t>(k));
      dispatch_float(g.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        std::vector<T*> dsts(size_t(k), nullptr);
        for (int i = 0; i < k; ++i) {
          if (!need[size_t(i)]) continue;
          gx[size_t(i)] = Tensor::empty({n, chans[size_t(i)], s0[2], s0[3], s0[4]}, g.dtype(), g.device());
          dsts[size_t(i)] = gx[size_t(i)].data<T>();
        }
        split_on(g.device(), g.data<T>(), dsts.data(), chans.data(), k, n, s);
      });
      return gx;
    });
  }
  return out;
}

}  // namespace fdl
