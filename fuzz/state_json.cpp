// load_checkpoint on a run directory whose state.json is the input. The directory holds the
// weight files of a valid epoch-1 checkpoint of a one-layer model, so a state.json that
// names epoch 1 goes on to load them.
#include "engine/nn/conv3d.h"
#include "engine/optim/adam.h"
#include "fuzz/common.h"
#include "train/checkpoint.h"

namespace {

struct Run {
  fdl::Generator g{1};
  fdl::Conv3d model{1, 2, 1, 1, 0, true, g};
  fdl::Adam opt{model.named_parameters()};
  std::string dir = fdl::fuzz::scratch_path("");

  Run() {
    fdl::train::RunState st;
    st.epoch = st.best_epoch = 1;
    st.best_val_loss = 0.5;
    fdl::train::save_checkpoint(dir, model, opt, st, true);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fdl::fuzz;
  static Run run;
  write_bytes(fdl::train::run_file(run.dir, "state.json"), as_view(data, size));
  expect_error_or_ok([&] { fdl::train::load_checkpoint(run.dir, run.model, run.opt); });
  return 0;
}
