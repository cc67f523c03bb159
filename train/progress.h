#pragma once
// What a training run shows while it runs: a live progress bar on stderr, the per-epoch
// table RUN_DIR/train.csv, and RUN_DIR/progress.png with the loss and Dice curves.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace fdl::train {

struct EpochRow {
  int64_t epoch = 0;
  double train_loss = 0, val_loss = 0;
  std::vector<double> val_dice;  // one per foreground class
  double seconds = 0;            // wall time of the epoch, validation included
  double data_wait = 0;          // of which the steps waited for the loader (fdl recipe)
};

// Columns: epoch, train_loss, val_loss, val_dice_<name> per foreground class, seconds, and
// with `data_wait` (the fdl recipe's loader) data_wait. An epoch without validation (the fdl
// recipe's --val-every) has nan in the validation columns. `dice_names` are the foreground
// class names. Written atomically.
void write_train_csv(const std::string& path, const std::vector<std::string>& dice_names,
                     const std::vector<EpochRow>& rows, bool data_wait = false);
// The rows of a file written by write_train_csv with the same classes (without the data_wait
// column, it reads as 0); fdl::Error names the file and line when it is malformed.
std::vector<EpochRow> read_train_csv(const std::string& path, size_t n_dice);

// Two plots side by side: train and validation loss, and validation Dice per class, against
// the epoch, on [0, 1]; a curve joins its finite points. Written atomically.
void write_progress_png(const std::string& path, const std::vector<std::string>& dice_names,
                        const std::vector<EpochRow>& rows);

// One line redrawn in place (\r) on a terminal; on a pipe or file, a plain line every few
// seconds so logs stay readable.
class ProgressBar {
 public:
  explicit ProgressBar(std::FILE* out = stderr);
  ~ProgressBar();  // ends an open bar's line, so an error message starts on its own
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  void update(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss,
              double voxels_per_s, double eta_s);
  void line(const std::string& text);  // a permanent line (ends the bar's line first)

 private:
  std::FILE* out_;
  bool tty_;
  bool open_ = false;  // a bar is drawn on the current line
  std::chrono::steady_clock::time_point last_;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s"

}  // namespace fdl::train
