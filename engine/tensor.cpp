#include "engine/tensor.h"

#include <cstring>

#include "engine/autograd.h"
#include "engine/device.h"

namespace fdl {

Storage::Storage(size_t n, Device d) : bytes(n), device(d) { data = Allocator::get(d).allocate(n); }

Storage::~Storage() { Allocator::get(device).release(data, bytes); }

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(size_t(shape.numel()) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->dtype = dtype;
  impl->device = device;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

namespace {
template <class T>
Tensor host_tensor(const std::vector<T>& v, const Shape& shape) {
  FDL_CHECK(int64_t(v.size()) == shape.numel(), "from_vector: ", v.size(), " values for shape ",
            shape.str());
  Tensor t = Tensor::empty(shape, dtype_of<T>::value);
  std::memcpy(t.raw(), v.data(), v.size() * sizeof(T));
  return t;
}

// Converts n elements between host buffers of any two dtypes.
void convert(const void* src, DType st, void* dst, DType dt, int64_t n) {
  auto load = [&](int64_t i) -> double {
    switch (st) {
      case DType::F32: return static_cast<const float*>(src)[i];
      case DType::F64: return static_cast<const double*>(src)[i];
      case DType::I32: return static_cast<const int32_t*>(src)[i];
    }
    return 0;
  };
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    const double x = load(i);
    switch (dt) {
      case DType::F32: static_cast<float*>(dst)[i] = float(x); break;
      case DType::F64: static_cast<double*>(dst)[i] = x; break;
      case DType::I32: static_cast<int32_t*>(dst)[i] = int32_t(x); break;
    }
  }
}
}  // namespace

Tensor Tensor::from_vector(const std::vector<float>& v, const Shape& s) {
  return host_tensor(v, s);
}
Tensor Tensor::from_vector(const std::vector<double>& v, const Shape& s) {
  return host_tensor(v, s);
}

std::vector<double> Tensor::to_vector() const {
  const Tensor h = to(Device::CPU);
  std::vector<double> out(static_cast<size_t>(numel()));
  convert(h.raw(), dtype(), out.data(), DType::F64, numel());
  return out;
}

double Tensor::item() const {
  FDL_CHECK(numel() == 1, "item() of a tensor with ", numel(), " elements, shape ", shape().str());
  return to_vector()[0];
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  Tensor t = empty(shape(), dtype(), d);
  copy_bytes(t.raw(), d, raw(), device(), nbytes());
  return t;
}

Tensor Tensor::to(DType dt) const {
  if (dt == dtype()) return *this;
  const Tensor h = to(Device::CPU);
  Tensor t = empty(shape(), dt);
  convert(h.raw(), dtype(), t.raw(), dt, numel());
  return t.to(device());
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape(), dtype(), device());
  copy_bytes(t.raw(), device(), raw(), device(), nbytes());
  return t;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = shape();
  impl->dtype = dtype();
  impl->device = device();
  return Tensor(std::move(impl));
}

Tensor Tensor::reshape(const Shape& s) const {
  FDL_CHECK(s.numel() == numel(), "reshape of ", shape().str(), " to ", s.str(),
            ": element counts differ");
  Tensor out = detach();
  out.impl_->shape = s;
  if (autograd::wants({*this})) {
    autograd::record("reshape", out, {*this}, [from = shape()](const Tensor& g) {
      return std::vector<Tensor>{g.reshape(from)};
    });
  }
  return out;
}

void Tensor::copy_(const Tensor& src) {
  FDL_CHECK(src.shape() == shape() && src.dtype() == dtype(), "copy_: source ", src.shape().str(),
            " ", dtype_name(src.dtype()), " into ", shape().str(), " ", dtype_name(dtype()));
  copy_bytes(raw(), device(), src.raw(), src.device(), nbytes());
}

void Tensor::convert_(DType t) {
  FDL_CHECK(!grad_fn(), "convert_: only leaf tensors can change dtype in place");
  const Tensor c = to(t);
  impl_->storage = c.impl_->storage;
  impl_->dtype = t;
  impl_->grad.reset();
}

void Tensor::move_to_(Device d) {
  FDL_CHECK(!grad_fn(), "move_to_: only leaf tensors can change device in place");
  const Tensor c = to(d);
  impl_->storage = c.impl_->storage;
  impl_->device = d;
  impl_->grad.reset();
}

void Tensor::fill_(double v) { fill_elements(raw(), device(), dtype(), numel(), v); }

Tensor& Tensor::set_requires_grad(bool r) {
  FDL_CHECK(!grad_fn() || r,
            "set_requires_grad(false) on a tensor computed with autograd; "
            "use detach()");
  FDL_CHECK(dtype() != DType::I32 || !r, "an int32 tensor cannot require a gradient");
  impl().requires_grad = r;
  return *this;
}

void Tensor::backward() const {
  FDL_CHECK(numel() == 1, "backward() without a seed needs a one-element tensor, got ",
            shape().str());
  autograd::backward(*this, full(shape(), 1.0, dtype(), device()));
}

void Tensor::backward(const Tensor& seed) const { autograd::backward(*this, seed); }

}  // namespace fdl
