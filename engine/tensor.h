#pragma once
// Tensor: a handle to a contiguous, row-major block of one dtype on one device, with
// ref-counted storage from the caching allocator and, for autograd, a gradient and the node
// that produced it. Copies of a Tensor share everything; clone() copies the data.
#include <memory>
#include <vector>

#include "engine/allocator.h"
#include "engine/shape.h"

namespace fdl {

struct Node;

struct Storage {
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  size_t bytes = 0;
  Device device;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  DType dtype = DType::F32;
  Device device = Device::CPU;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient (leaves)
  std::shared_ptr<Node> grad_fn;     // the node that made this tensor (non-leaves)
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                     Device device = Device::CPU);
  static Tensor from_vector(const std::vector<float>& v, const Shape& shape);
  static Tensor from_vector(const std::vector<double>& v, const Shape& shape);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int ndim() const { return shape().ndim(); }
  int64_t size(int i) const { return shape()[i]; }
  int64_t numel() const { return shape().numel(); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().device; }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype()); }

  void* raw() const { return impl().storage->data; }
  template <class T>
  T* data() const {
    FDL_CHECK(dtype_of<T>::value == dtype(), "tensor", shape().str(), " is ", dtype_name(dtype()),
              ", accessed as another type");
    return static_cast<T*>(raw());
  }

  // Copies to host memory as doubles (any dtype, any device). For tests and logging.
  std::vector<double> to_vector() const;
  double item() const;  // the value of a one-element tensor

  Tensor to(Device d) const;             // a copy on device d (or this tensor if already there)
  Tensor to(DType t) const;              // a converted copy (or this tensor if already of type t)
  Tensor clone() const;                  // a copy of the data, detached from autograd
  Tensor detach() const;                 // shares the data, no autograd history
  Tensor reshape(const Shape& s) const;  // shares the data; keeps autograd (a view node)
  void copy_(const Tensor& src);         // copies src's data into this tensor
  // Converts a leaf in place: every handle to it sees the new dtype (moves a module's weights).
  void convert_(DType t);
  void move_to_(Device d);  // likewise for the device (moves a module's weights to the GPU)
  void fill_(double v);
  void zero_() { fill_(0.0); }

  // Autograd.
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& set_requires_grad(bool r);
  Tensor grad() const { return Tensor(impl().grad); }
  void set_grad(const Tensor& g) { impl().grad = g.impl_; }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  void backward() const;  // reverse pass from a one-element tensor (seed 1)
  void backward(const Tensor& seed) const;

  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  TensorImpl& impl() const {
    FDL_CHECK(impl_, "use of an undefined tensor");
    return *impl_;
  }
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace fdl
