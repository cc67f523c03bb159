#include "engine/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "engine/ops/elementwise.h"
#include "engine/profile.h"

namespace fdl::autograd {

namespace {
thread_local bool g_enabled = true;

Edge edge_of(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  if (t.grad_fn()) return {t.grad_fn(), nullptr};
  return {nullptr, t.impl_ptr()};
}

// The nodes reachable from root, each after every node that consumes its output.
std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> post;
  std::unordered_set<Node*> seen{root};
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, i] = stack.back();
    if (i < node->next.size()) {
      Node* child = node->next[i++].fn.get();
      if (child && seen.insert(child).second) stack.push_back({child, 0});
    } else {
      post.push_back(node);
      stack.pop_back();
    }
  }
  return {post.rbegin(), post.rend()};
}

void accumulate_leaf(TensorImpl& leaf, const Tensor& g) {
  if (!leaf.grad) {
    leaf.grad = g.clone().impl_ptr();
  } else {
    Tensor acc(leaf.grad);
    add_(acc, g);
  }
}
}  // namespace

bool enabled() { return g_enabled; }
NoGrad::NoGrad() : prev_(g_enabled) { g_enabled = false; }
NoGrad::~NoGrad() { g_enabled = prev_; }

template <class Range>
static bool any_wants(const Range& inputs) {
  if (!g_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

bool wants(std::initializer_list<Tensor> inputs) { return any_wants(inputs); }
bool wants(const std::vector<Tensor>& inputs) { return any_wants(inputs); }

void record(const char* name, Tensor& out, const std::vector<Tensor>& inputs, BackwardFn fn) {
  auto node = std::make_shared<Node>();
  node->name = name;
  node->fn = std::move(fn);
  node->next.reserve(inputs.size());
  for (const Tensor& t : inputs) node->next.push_back(edge_of(t));
  out.impl_ptr()->grad_fn = std::move(node);
  out.impl_ptr()->requires_grad = true;
}

void backward(const Tensor& root, const Tensor& seed) {
  FDL_CHECK(root.requires_grad(), "backward: the tensor does not require a gradient");
  FDL_CHECK(seed.shape() == root.shape(), "backward: seed shape ", seed.shape().str(),
            " differs from the tensor's ", root.shape().str());
  FDL_CHECK(seed.device() == root.device() && seed.dtype() == root.dtype(),
            "backward: the seed is ", dtype_name(seed.dtype()), " on ", device_name(seed.device()),
            " but the tensor is ", dtype_name(root.dtype()), " on ", device_name(root.device()));
  NoGrad no_grad;
  if (!root.grad_fn()) {
    accumulate_leaf(*root.impl_ptr(), seed);
    return;
  }
  std::unordered_map<Node*, Tensor> grads{{root.grad_fn().get(), seed}};
  for (Node* node : topological_order(root.grad_fn().get())) {
    auto it = grads.find(node);
    if (it == grads.end()) continue;  // no gradient flows here
    const Tensor g = std::move(it->second);
    grads.erase(it);
    FDL_CHECK(!node->released, "backward through ", node->name,
              " a second time: its saved tensors were freed after the first");
    std::vector<Tensor> gin;
    {
      FDL_PROFILE_RANGE(node->name);  // "conv3d" under the backward phase's range
      gin = node->fn(g);
    }
    node->fn = nullptr;  // frees the saved tensors
    node->released = true;
    FDL_CHECK(gin.size() == node->next.size(), node->name, ": backward returned ", gin.size(),
              " gradients for ", node->next.size(), " inputs");
    for (size_t i = 0; i < gin.size(); ++i) {
      const Edge& e = node->next[i];
      if (!gin[i].defined()) continue;
      if (e.fn) {
        auto [slot, fresh] = grads.try_emplace(e.fn.get(), gin[i]);
        if (!fresh) slot->second = add(slot->second, gin[i]);
      } else if (e.leaf) {
        accumulate_leaf(*e.leaf, gin[i]);
      }
    }
  }
}

}  // namespace fdl::autograd
