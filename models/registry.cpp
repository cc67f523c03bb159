#include "models/fd_unet3d.h"

namespace fdl {

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names{"unet3d", "fd-early", "fd-late"};
  return names;
}

std::shared_ptr<SegModel> make_model(const std::string& name, const ModelOptions& opt,
                                     Generator& init) {
  if (name == "unet3d") return std::make_shared<UNet3D>(opt, init);
  if (name == "fd-early") return std::make_shared<FDUNet3D>(opt, Fusion::Early, init);
  if (name == "fd-late") return std::make_shared<FDUNet3D>(opt, Fusion::Late, init);
  std::string known;
  for (auto& n : model_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown model '" + name + "' (known: " + known + ")");
}

}  // namespace fdl
