#pragma once
// Reverse-mode autograd. Every op that sees an input needing a gradient records a Node on
// its output: the node knows its inputs (edges) and how to push grad_out back to them. The
// backward pass orders the nodes reachable from the root (the tape) and runs them in
// reverse, then frees what each node saved.
#include <functional>
#include <initializer_list>
#include <memory>
#include <vector>

#include "engine/tensor.h"

namespace fdl {

struct Edge {
  std::shared_ptr<Node> fn;          // the producer of a non-leaf input
  std::shared_ptr<TensorImpl> leaf;  // or the leaf itself (a parameter)
};

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out)>;

struct Node {
  const char* name;
  std::vector<Edge> next;  // one per input; both fields null when it needs no gradient
  BackwardFn fn;           // returns one gradient per input; undefined means none
  bool released = false;
};

namespace autograd {

bool enabled();  // false inside a NoGrad scope

// NoGrad scope: ops record nothing, so inference keeps nothing for backward.
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool prev_;
};

// True when autograd is on and any input requires a gradient.
bool wants(std::initializer_list<Tensor> inputs);
bool wants(const std::vector<Tensor>& inputs);

// Makes `out` the result of a node over `inputs`. Tensors the closure captures are saved
// for backward and freed once it has run; capture detach()ed copies, never `out` itself.
void record(const char* name, Tensor& out, const std::vector<Tensor>& inputs, BackwardFn fn);

void backward(const Tensor& root, const Tensor& seed);

}  // namespace autograd
}  // namespace fdl
