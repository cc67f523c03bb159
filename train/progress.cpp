#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "engine/io/atomic_file.h"
#include "engine/io/png.h"
#include "kernels/common/error.h"
#include "train/plot.h"

namespace fdl::train {

void write_train_csv(const std::string& path, const std::vector<std::string>& dice_names,
                     const std::vector<EpochRow>& rows, bool data_wait) {
  std::string out = "epoch,train_loss,val_loss";
  for (const std::string& n : dice_names) out += ",val_dice_" + n;
  out += data_wait ? ",seconds,data_wait\n" : ",seconds\n";
  char buf[64];
  for (const EpochRow& r : rows) {
    FDL_CHECK(r.val_dice.size() == dice_names.size(), path, ": epoch ", r.epoch, " has ",
              r.val_dice.size(), " Dice values for ", dice_names.size(), " classes");
    out += std::to_string(r.epoch);
    for (double v : {r.train_loss, r.val_loss}) {
      std::snprintf(buf, sizeof buf, ",%.9g", v);
      out += buf;
    }
    for (double v : r.val_dice) {
      std::snprintf(buf, sizeof buf, ",%.9g", v);
      out += buf;
    }
    std::snprintf(buf, sizeof buf, ",%.3f", r.seconds);
    out += buf;
    if (data_wait) {
      std::snprintf(buf, sizeof buf, ",%.3f", r.data_wait);
      out += buf;
    }
    out += "\n";
  }
  io::write_file_atomic(path, out);
}

std::vector<EpochRow> read_train_csv(const std::string& path, size_t n_dice) {
  std::istringstream in(io::read_file(path));
  std::string line;
  std::vector<EpochRow> rows;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    if (lineno == 1 || line.empty()) continue;  // the header
    std::vector<double> v;
    std::istringstream fields(line);
    for (std::string f; std::getline(fields, f, ',');) {
      char* end = nullptr;
      v.push_back(std::strtod(f.c_str(), &end));
      FDL_CHECK(end && *end == '\0' && !f.empty(), path, ":", lineno, ": '", f,
                "' is not a number");
    }
    FDL_CHECK(v.size() == n_dice + 4 || v.size() == n_dice + 5, path, ":", lineno, ": ", v.size(),
              " columns, expected ", n_dice + 5);
    if (v.size() == n_dice + 4) v.push_back(0);  // no data_wait column
    EpochRow r;
    r.epoch = int64_t(v[0]);
    r.train_loss = v[1];
    r.val_loss = v[2];
    r.val_dice.assign(v.begin() + 3, v.end() - 2);
    r.seconds = v[v.size() - 2];
    r.data_wait = v.back();
    rows.push_back(r);
  }
  return rows;
}

namespace {

struct Series {
  std::string name;
  std::vector<double> y;
};

// One plot of series against epochs 1..n in the box (x0, y0)-(x1, y1), y on [0, 1].
void plot(Canvas& cv, int x0, int y0, int x1, int y1, const std::string& title,
          const std::vector<int64_t>& epochs, const std::vector<Series>& series) {
  cv.text(x0, y0 - 18, title, kAxis);
  for (int k = 0; k <= 4; ++k) {  // horizontal grid at 0, 0.25 .. 1
    const int y = y1 - (y1 - y0) * k / 4;
    cv.line(x0, y, x1, y, k == 0 ? kAxis : kGrid);
    if (k % 2 == 0) cv.text(x0 - 34, y - 5, k == 0 ? "0" : k == 2 ? "0.5" : "1", kAxis);
  }
  cv.line(x0, y0, x0, y1, kAxis);
  if (epochs.empty()) return;
  const double e0 = double(epochs.front()), e1 = std::max(double(epochs.back()), e0 + 1);
  auto px = [&](double e) { return x0 + int(std::lround((e - e0) / (e1 - e0) * (x1 - x0))); };
  auto py = [&](double v) {
    const double c = std::isfinite(v) ? std::clamp(v, 0.0, 1.0) : 0.0;
    return y1 - int(std::lround(c * (y1 - y0)));
  };
  cv.text(x0, y1 + 8, std::to_string(epochs.front()), kAxis);
  const std::string last = std::to_string(epochs.back());
  cv.text(x1 - int(last.size()) * 8, y1 + 8, last, kAxis);
  cv.text((x0 + x1) / 2 - 20, y1 + 8, "EPOCH", kAxis);
  for (size_t s = 0; s < series.size(); ++s) {
    const Rgb c = kColours[s % std::size(kColours)];
    std::vector<size_t> at;  // the finite points
    for (size_t i = 0; i < series[s].y.size(); ++i)
      if (std::isfinite(series[s].y[i])) at.push_back(i);
    const auto point = [&](size_t i) {
      return std::pair{px(double(epochs[i])), py(series[s].y[i])};
    };
    for (size_t i = 0; i + 1 < at.size(); ++i) {
      const auto [xa, ya] = point(at[i]);
      const auto [xb, yb] = point(at[i + 1]);
      cv.line(xa, ya, xb, yb, c, 2);
    }
    if (at.size() == 1) {
      const auto [xa, ya] = point(at[0]);
      cv.rect(xa - 2, ya - 2, xa + 2, ya + 2, c);
    }
  }
  // The legend, top right, over a white box so the curves do not hide it.
  size_t longest = 0;
  for (const Series& s : series) longest = std::max(longest, s.name.size());
  const int lx = x1 - 8 - int(longest) * 8 - 22;
  cv.rect(lx - 4, y0 + 3, x1 - 4, y0 + 6 + 16 * int(series.size()), {255, 255, 255});
  for (size_t s = 0; s < series.size(); ++s) {
    const Rgb c = kColours[s % std::size(kColours)];
    const int ly = y0 + 6 + 16 * int(s);
    cv.line(lx, ly + 4, lx + 16, ly + 4, c, 3);
    cv.text(lx + 22, ly, series[s].name, c);
  }
}

}  // namespace

void write_progress_png(const std::string& path, const std::vector<std::string>& dice_names,
                        const std::vector<EpochRow>& rows) {
  std::vector<int64_t> epochs;
  Series train{"train loss", {}}, val{"val loss", {}};
  std::vector<Series> dice;
  for (const std::string& n : dice_names) dice.push_back({n, {}});
  for (const EpochRow& r : rows) {
    epochs.push_back(r.epoch);
    train.y.push_back(r.train_loss);
    val.y.push_back(r.val_loss);
    for (size_t k = 0; k < dice.size() && k < r.val_dice.size(); ++k)
      dice[k].y.push_back(r.val_dice[k]);
  }
  const int W = 960, H = 400, pw = 400;
  Canvas cv(W, H);
  plot(cv, 50, 40, 50 + pw, H - 40, "SOFT DICE LOSS", epochs, {train, val});
  plot(cv, 530, 40, 530 + pw, H - 40, "VALIDATION DICE", epochs, dice);
  write_rgb_png(path, cv.px, W, H);
}

ProgressBar::ProgressBar(std::FILE* out) : out_(out), tty_(::isatty(::fileno(out)) == 1) {}

ProgressBar::~ProgressBar() {
  if (open_) std::fputc('\n', out_);
}

void ProgressBar::update(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss,
                         double voxels_per_s, double eta_s) {
  const auto now = std::chrono::steady_clock::now();
  if (!tty_ && step != steps && now - last_ < std::chrono::seconds(5)) return;
  last_ = now;
  constexpr int kWidth = 24;
  const int filled = steps > 0 ? int(kWidth * step / steps) : kWidth;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "epoch %lld/%lld [%s%s] step %lld/%lld  loss %.4f  %.3g vox/s  ETA %s",
                static_cast<long long>(epoch), static_cast<long long>(epochs),
                std::string(size_t(filled), '#').c_str(),
                std::string(size_t(kWidth - filled), '.').c_str(), static_cast<long long>(step),
                static_cast<long long>(steps), loss, voxels_per_s, format_duration(eta_s).c_str());
  if (tty_) {
    std::fprintf(out_, "\r%s\033[K", buf);
    open_ = true;
  } else {
    std::fprintf(out_, "%s\n", buf);
  }
  std::fflush(out_);
}

void ProgressBar::line(const std::string& text) {
  if (open_) std::fprintf(out_, "\r\033[K");
  open_ = false;
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long long t = std::llround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%llds", t);
  return buf;
}

}  // namespace fdl::train
