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

constexpr const char* kOp = "concat_channels";

// The kernels' view: k sources of chans[i] channels, n batch elements of s voxels per channel.
struct ConcatShape {
  std::vector<int64_t> chans;
  int64_t n, s;
  Shape first;  // xs[0]'s shape: the grid of every source and of the output
  int k() const { return int(chans.size()); }
  Shape with_channels(int64_t c) const { return {n, c, first[2], first[3], first[4]}; }
};

ConcatShape concat_shape(const std::vector<Tensor>& xs) {
  FDL_CHECK(!xs.empty(), kOp, ": no tensors to concatenate");
  std::vector<int64_t> chans;
  for (size_t i = 0; i < xs.size(); ++i) {
    const std::string arg = "xs[" + std::to_string(i) + "]";
    ops::check_float(xs[i], kOp, arg.c_str());
    ops::check_ndim(xs[i], 5, kOp, arg.c_str());
    if (i > 0) {
      FDL_CHECK(xs[i].dtype() == xs[0].dtype(), kOp, ": '", arg, "' is ", dtype_name(xs[i].dtype()),
                " but 'xs[0]' is ", dtype_name(xs[0].dtype()));
      FDL_CHECK(xs[i].device() == xs[0].device(), kOp, ": '", arg, "' is on ",
                device_name(xs[i].device()), " but 'xs[0]' is on ", device_name(xs[0].device()));
      for (int d : {0, 2, 3, 4})
        FDL_CHECK(xs[i].size(d) == xs[0].size(d), kOp, ": '", arg, "' has shape ",
                  xs[i].shape().str(), " but 'xs[0]' has shape ", xs[0].shape().str(),
                  "; all dimensions but 1 must match");
    }
    chans.push_back(xs[i].size(1));
  }
  const Shape& s0 = xs[0].shape();
  return {chans, s0[0], s0.numel_from(2), s0};
}

int64_t total_channels(const ConcatShape& s) {
  int64_t total = 0;
  for (int64_t c : s.chans) total += c;
  return total;
}

template <class T>
std::vector<const T*> sources(const std::vector<Tensor>& xs) {
  std::vector<const T*> p;
  for (const Tensor& x : xs) p.push_back(x.data<T>());
  return p;
}

// A gradient for each input in `need` (on device d), and the kernels' destinations: its
// data, or null where no gradient is wanted.
template <class T>
std::vector<T*> gradients(const ConcatShape& s, const std::vector<bool>& need, DType t, Device d,
                          std::vector<Tensor>& gx) {
  gx.assign(size_t(s.k()), Tensor());
  std::vector<T*> dsts(size_t(s.k()), nullptr);
  for (size_t i = 0; i < dsts.size(); ++i) {
    if (!need[i]) continue;
    gx[i] = Tensor::empty(s.with_channels(s.chans[i]), t, d);
    dsts[i] = gx[i].data<T>();
  }
  return dsts;
}

Tensor forward_cpu(const ConcatShape& s, const std::vector<Tensor>& xs) {
  Tensor out = Tensor::empty(s.with_channels(total_channels(s)), xs[0].dtype());
  dispatch_float(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kc::concat_channels(sources<T>(xs).data(), s.chans.data(), s.k(), out.data<T>(), s.n, s.s);
  });
  return out;
}

std::vector<Tensor> backward_cpu(const ConcatShape& s, const std::vector<bool>& need,
                                 const Tensor& g) {
  std::vector<Tensor> gx;
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const std::vector<T*> dsts = gradients<T>(s, need, g.dtype(), Device::CPU, gx);
    kc::split_channels(g.data<T>(), dsts.data(), s.chans.data(), s.k(), s.n, s.s);
  });
  return gx;
}

#ifdef FDL_HAVE_CUDA
namespace kg = kernels::cuda;

Tensor forward_cuda(const ConcatShape& s, const std::vector<Tensor>& xs) {
  Tensor out = Tensor::empty(s.with_channels(total_channels(s)), xs[0].dtype(), Device::CUDA);
  dispatch_float(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    kg::concat_channels(sources<T>(xs).data(), s.chans.data(), s.k(), out.data<T>(), s.n, s.s);
  });
  return out;
}

std::vector<Tensor> backward_cuda(const ConcatShape& s, const std::vector<bool>& need,
                                  const Tensor& g) {
  std::vector<Tensor> gx;
  dispatch_float(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const std::vector<T*> dsts = gradients<T>(s, need, g.dtype(), Device::CUDA, gx);
    kg::split_channels(g.data<T>(), dsts.data(), s.chans.data(), s.k(), s.n, s.s);
  });
  return gx;
}
#else
Tensor forward_cuda(const ConcatShape&, const std::vector<Tensor>&) { ops::no_cuda(kOp); }
std::vector<Tensor> backward_cuda(const ConcatShape&, const std::vector<bool>&, const Tensor&) {
  ops::no_cuda(kOp);
}
#endif

}  // namespace

Tensor concat_channels(const std::vector<Tensor>& xs) {
  FDL_PROFILE_RANGE(kOp);
  const ConcatShape s = concat_shape(xs);
  Tensor out = xs[0].device() == Device::CUDA ? forward_cuda(s, xs) : forward_cpu(s, xs);
  if (autograd::wants(xs)) {
    std::vector<bool> need;
    for (const Tensor& x : xs) need.push_back(x.requires_grad());
    // The backward runs where its gradient is; it saves nothing.
    autograd::record(kOp, out, xs, [s, need](const Tensor& g) {
      return g.device() == Device::CUDA ? backward_cuda(s, need, g) : backward_cpu(s, need, g);
    });
  }
  return out;
}

}  // namespace fdl
