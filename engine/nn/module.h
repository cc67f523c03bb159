#pragma once
// Module: named parameters, named child modules and a train/eval flag. Names are dotted
// paths as in PyTorch ("enc.conv1.weight"): a module's own parameters first, then each
// child's, in registration order, so state files line up with a PyTorch state_dict.
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace fdl {

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Subclasses keep handles to their registered parameters and children: no copies.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Every parameter once: a child registered twice (shared weights) contributes under the
  // first name it is reached by.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  void train(bool on = true);  // this module and all its children
  void to(DType t);            // converts every parameter in place (float64 for exact tests)
  void to(Device d);           // moves every parameter in place
  bool training() const { return training_; }
  int64_t num_parameters() const;  // elements, over named_parameters()

 protected:
  // Stores t as a parameter (it now requires a gradient). The reference stays valid for
  // the module's lifetime.
  Tensor& register_parameter(const std::string& name, Tensor t);
  template <class M>
  M& register_module(const std::string& name, std::shared_ptr<M> m) {
    static_assert(std::is_base_of_v<Module, M>, "register_module: M must derive from Module");
    M& ref = *m;
    add_child(name, std::move(m));
    return ref;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name, const char* what) const;
  std::deque<std::pair<std::string, Tensor>> params_;  // a deque: references stay valid
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Writes the named parameters as a safetensors file, atomically.
void save_parameters(const Module& m, const std::string& path);

// Copies the file's tensors into the parameters of the same name (converting the float
// type if needed). A shape mismatch is an fdl::Error naming the key and both shapes; with
// strict, so is any module parameter missing from the file (all missing keys are named).
// Nothing is changed unless the whole load succeeds. Returns the file's names that the
// module does not have (ignored).
std::vector<std::string> load_parameters(Module& m, const std::string& path, bool strict = true);

}  // namespace fdl
