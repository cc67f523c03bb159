#pragma once
// Frequency disentanglement (docs/method.md §2 and §3): the spectral split of an input into a
// low part on a small grid and a high part on the full grid, and the spectral fusion of
// high- and low-branch features with its exact adjoint backward. Both run on the tensor's
// device (FFTW or cuFFT, and the kernels of kernels/{cpu,cuda}/spectral).
#include <array>
#include <string>

#include "engine/tensor.h"

namespace fdl {

enum class KspaceCentre { Shifted, Unshifted };
KspaceCentre parse_kspace_centre(const std::string& s);  // "shifted" | "unshifted"
const char* kspace_centre_name(KspaceCentre c);

// The centre block B for one full grid (docs/method.md §2.2-2.3).
struct SpectralBlock {
  std::array<int64_t, 3> full;   // n_a
  std::array<int64_t, 3> small;  // m_a = int(n_a * beta_a)
  KspaceCentre centre;
  // Errors: beta outside (0, 1], or a beta that gives an empty block (m_a == 0).
  static SpectralBlock make(std::array<int64_t, 3> full, std::array<double, 3> beta,
                            KspaceCentre c);
  // The block whose small grid is `small` (1 <= small_a <= full_a).
  static SpectralBlock of_sizes(std::array<int64_t, 3> full, std::array<int64_t, 3> small,
                                KspaceCentre c);
};

struct SplitResult {
  Tensor low, high;
};

// x (N, C, X, Y, Z) -> low (N, C, m_x, m_y, m_z) = Re(IFFT_small(S[B])) and
// high (N, C, X, Y, Z) = Re(IFFT(S with B zeroed)). Records no gradient (it is applied to
// inputs).
SplitResult spectral_split(const Tensor& x, std::array<double, 3> beta, KspaceCentre c);

// high (N, C, X, Y, Z), low (N, C, m_x, m_y, m_z) -> Re(IFFT(H with H[B] <- L)), where B is
// the block whose small grid is low's. Backward: grad_high = Re(IFFT(G with B zeroed)),
// grad_low = (|B| / n) Re(IFFT_small(G[B])).
Tensor spectral_fuse(const Tensor& high, const Tensor& low, KspaceCentre c);

// One interface over FFTW and cuFFT: the half spectrum of the real 3-D FFT over the last
// three axes of x, unnormalised, on x's device. `data` is flat: batch volumes of
// (X, Y, Z/2+1) complex values as interleaved (re, im) pairs. No autograd.
struct HalfSpectrum {
  Tensor data;
  std::array<int64_t, 3> dims;  // the real grid (X, Y, Z)
  int64_t batch;                // the product of the leading dims
};
HalfSpectrum rfft3(const Tensor& x);
// The unnormalised inverse into a tensor of `shape` (leading dims, X, Y, Z). Overwrites s.
Tensor irfft3(HalfSpectrum& s, const Shape& shape);

// For display: log(1 + |S|) on the kz = 0 plane of the spectrum of a (X, Y, Z) volume, as
// an (X, Y) float32 image in the convention's own view, with the block at the centre:
// fftshifted (DC in the middle) for Shifted, the raw array for Unshifted.
Tensor spectrum_display_plane(const Tensor& volume, KspaceCentre c);
// The block's rectangle on that plane: first row and column, and the sizes.
std::array<int64_t, 4> spectrum_display_block(const SpectralBlock& b);

}  // namespace fdl
