#include "engine/nn/module.h"

#include <unordered_set>

#include "engine/io/safetensors.h"
#include "engine/ops/checks.h"

namespace fdl {

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::unordered_set<const TensorImpl*> seen;
  // Depth first, each module's own parameters before its children's.
  std::vector<std::pair<std::string, const Module*>> stack{{"", this}};
  while (!stack.empty()) {
    const auto [prefix, m] = stack.back();
    stack.pop_back();
    for (const auto& [name, t] : m->params_)
      if (seen.insert(t.impl_ptr().get()).second) out.push_back({prefix + name, t});
    for (auto it = m->children_.rbegin(); it != m->children_.rend(); ++it)
      stack.push_back({prefix + it->first + ".", it->second.get()});
  }
  return out;
}

void Module::to(DType t) {
  for (auto& [name, p] : named_parameters()) p.convert_(t);
}

void Module::to(Device d) {
  for (auto& [name, p] : named_parameters()) p.move_to_(d);
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::check_new_name(const std::string& name, const char* what) const {
  FDL_CHECK(!name.empty() && name.find('.') == std::string::npos, "Module: ", what, " name '", name,
            "' must be non-empty and contain no '.'");
  for (const auto& [n, t] : params_)
    FDL_CHECK(n != name, "Module: '", name, "' is already a parameter of this module");
  for (const auto& [n, c] : children_)
    FDL_CHECK(n != name, "Module: '", name, "' is already a child of this module");
}

Tensor& Module::register_parameter(const std::string& name, Tensor t) {
  check_new_name(name, "parameter");
  ops::check_float(t, "register_parameter", name.c_str());
  t.set_requires_grad(true);
  params_.emplace_back(name, std::move(t));
  return params_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name, "child module");
  FDL_CHECK(m, "Module: child '", name, "' is null");
  children_.emplace_back(name, std::move(m));
}

void save_parameters(const Module& m, const std::string& path) {
  io::TensorMap tensors;
  for (const auto& [name, t] : m.named_parameters()) tensors.emplace(name, t.detach());
  io::save_safetensors(path, tensors, {{"format", "pt"}});
}

std::vector<std::string> load_parameters(Module& m, const std::string& path, bool strict) {
  const io::TensorMap file = io::load_safetensors(path).tensors;
  io::require_finite(file, path);
  const auto params = m.named_parameters();
  std::vector<std::pair<Tensor, Tensor>> copies;  // (parameter, source)
  std::string missing;
  std::unordered_set<std::string> used;
  for (const auto& [name, p] : params) {
    auto it = file.find(name);
    if (it == file.end()) {
      missing += (missing.empty() ? "'" : ", '") + name + "'";
      continue;
    }
    const Tensor& src = it->second;
    FDL_CHECK(src.shape() == p.shape(), "load_parameters: ", path, ": '", name, "' has shape ",
              src.shape().str(), " in the file but ", p.shape().str(), " in the module");
    FDL_CHECK(src.dtype() != DType::I32, "load_parameters: ", path, ": '", name,
              "' is int32 in the file; parameters are float");
    copies.push_back({p, src});
    used.insert(name);
  }
  FDL_CHECK(!strict || missing.empty(), "load_parameters: ", path, " lacks module parameters ",
            missing);
  for (auto& [p, src] : copies) p.copy_(src.to(p.dtype()));
  std::vector<std::string> ignored;
  for (const auto& [name, t] : file)
    if (!used.count(name)) ignored.push_back(name);
  return ignored;
}

}  // namespace fdl
