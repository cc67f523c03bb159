#include "engine/io/nifti.h"

#include <fcntl.h>
#include <nifti2_io.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>

#include "engine/io/atomic_file.h"
#include "engine/io/stderr_capture.h"
#include "engine/memory_limit.h"

namespace fdl {

namespace {

namespace fs = std::filesystem;

// Larger volumes are refused before their data is read (a corrupt header must not make
// nifti_clib allocate terabytes).
constexpr int64_t kMaxVoxels = int64_t(1) << 31;

struct NimDeleter {
  void operator()(nifti_image* p) const { nifti_image_free(p); }
};
using NimPtr = std::unique_ptr<nifti_image, NimDeleter>;

Affine from_mat(const nifti_dmat44& m) {
  Affine a{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) a[size_t(r)][size_t(c)] = m.m[r][c];
  return a;
}

nifti_dmat44 to_mat(const Affine& a) {
  nifti_dmat44 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = a[size_t(r)][size_t(c)];
  return m;
}

Affine matmul(const Affine& a, const Affine& b) {
  Affine c{};
  for (size_t r = 0; r < 4; ++r)
    for (size_t k = 0; k < 4; ++k)
      for (size_t j = 0; j < 4; ++j) c[r][j] += a[r][k] * b[k][j];
  return c;
}

// nibabel's affine for a header with neither qform nor sform.
Affine fallback_affine(const std::array<int64_t, 3>& dims, const std::array<double, 3>& d) {
  Affine a{};
  const double sign[3] = {-1, 1, 1};
  for (size_t i = 0; i < 3; ++i) {
    a[i][i] = sign[i] * d[i];
    a[i][3] = -sign[i] * d[i] * double(dims[i] - 1) / 2;
  }
  a[3][3] = 1;
  return a;
}

// The voxels as float32, scaled, from the file's Fortran order (i fastest) to the tensor's
// row-major order (k fastest).
template <class S>
void convert(const char* src, float* dst, const std::array<int64_t, 4>& d, double slope,
             double inter) {
  const S* s = reinterpret_cast<const S*>(src);
  const int64_t X = d[0], Y = d[1], Z = d[2], C = d[3];
  for (int64_t c = 0; c < C; ++c)
    for (int64_t x = 0; x < X; ++x)
      for (int64_t y = 0; y < Y; ++y)
        for (int64_t z = 0; z < Z; ++z)
          dst[((c * X + x) * Y + y) * Z + z] =
              float(double(s[x + X * (y + Y * (z + Z * c))]) * slope + inter);
}

// A gzip stream of `bytes` at zlib's default level, as nifti_clib writes .nii.gz files. zlib
// counts in 32 bits, so the input goes in steps of 1 GiB.
std::string gzip(const std::string& bytes, const std::string& path) {
  z_stream z{};
  constexpr int kGzipWindow = 15 + 16;  // 2^15 window; +16: a gzip header and trailer
  FDL_CHECK(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindow, 8,
                         Z_DEFAULT_STRATEGY) == Z_OK,
            path, ": cannot start gzip compression");
  constexpr size_t kStep = size_t(1) << 30, kOutStep = size_t(1) << 20;
  std::string out;
  size_t in_at = 0;
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (z.avail_in == 0 && in_at < bytes.size()) {
      const size_t n = std::min(kStep, bytes.size() - in_at);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + in_at));
      z.avail_in = uInt(n);
      in_at += n;
    }
    const size_t had = out.size();
    out.resize(had + kOutStep);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + had);
    z.avail_out = uInt(kOutStep);
    rc = deflate(&z, in_at == bytes.size() ? Z_FINISH : Z_NO_FLUSH);
    out.resize(had + kOutStep - z.avail_out);
  }
  deflateEnd(&z);
  FDL_CHECK(rc == Z_STREAM_END, path, ": gzip compression failed");
  return out;
}

// zlib's last error, without the path it puts first.
std::string zlib_message(gzFile f, int* err) {
  const std::string msg = gzerror(f, err);
  const size_t colon = msg.rfind(": ");
  return colon == std::string::npos ? msg : msg.substr(colon + 2);
}

// Header fields as the file stores them: nifti_clib replaces zero and negative voxel sizes,
// and NaN or Inf quaternion parameters with 0, so their faults are not seen in the nifti_image.
struct StoredHeader {
  std::array<double, 3> pixdim{};   // pixdim[1..3]
  std::array<double, 6> quatern{};  // quatern_b, c, d, qoffset_x, y, z
};

StoredHeader stored_header(const nifti_image& nim) {
  char h[540] = {};
  if (gzFile f = gzopen(nim.fname, "rb")) {
    gzread(f, h, sizeof h);
    gzclose(f);
  }
  int32_t size;
  std::memcpy(&size, h, 4);
  const bool swap = size != 348 && size != 540;
  if (swap) nifti_swap_4bytes(1, &size);
  const bool two = size == 540;  // NIfTI-2: doubles; NIfTI-1: floats
  const auto at = [&](size_t off1, size_t off2) {
    if (two) {
      double v;
      std::memcpy(&v, h + off2, 8);
      if (swap) nifti_swap_8bytes(1, &v);
      return v;
    }
    float v;
    std::memcpy(&v, h + off1, 4);
    if (swap) nifti_swap_4bytes(1, &v);
    return double(v);
  };
  StoredHeader out;
  for (size_t i = 0; i < 3; ++i) out.pixdim[i] = at(76 + 4 * (i + 1), 104 + 8 * (i + 1));
  for (size_t i = 0; i < 6; ++i) out.quatern[i] = at(256 + 4 * i, 352 + 8 * i);
  return out;
}

// Whether the 3x3 part of a voxel-to-world matrix is finite and invertible: its determinant is
// not negligible against the product of its column lengths (columns not zero, not parallel).
bool invertible(const nifti_dmat44& m) {
  double norm[3];
  for (int j = 0; j < 3; ++j) {
    norm[j] = std::hypot(m.m[0][j], m.m[1][j], m.m[2][j]);
    for (int i = 0; i < 3; ++i)
      if (!std::isfinite(m.m[i][j]) || !std::isfinite(m.m[i][3])) return false;
  }
  const double det = m.m[0][0] * (m.m[1][1] * m.m[2][2] - m.m[1][2] * m.m[2][1]) -
                     m.m[0][1] * (m.m[1][0] * m.m[2][2] - m.m[1][2] * m.m[2][0]) +
                     m.m[0][2] * (m.m[1][0] * m.m[2][1] - m.m[1][1] * m.m[2][0]);
  return std::abs(det) > 1e-6 * norm[0] * norm[1] * norm[2];
}

// The geometry must mean something: positive, finite voxel sizes on the image's axes, and a
// finite, invertible qform and sform where their codes say they are used.
void check_geometry(const nifti_image& nim, const std::string& path) {
  const StoredHeader h = stored_header(nim);
  for (int i = 1; i <= std::min<int64_t>(3, nim.dim[0]); ++i)
    FDL_CHECK(std::isfinite(h.pixdim[size_t(i - 1)]) && h.pixdim[size_t(i - 1)] > 0, path,
              ": pixdim[", i, "] (the voxel size along ", "ijk"[i - 1], ") is ",
              h.pixdim[size_t(i - 1)], "; voxel sizes must be positive numbers");
  FDL_CHECK(nim.qform_code <= 0 || (std::all_of(h.quatern.begin(), h.quatern.end(),
                                                [](double v) { return std::isfinite(v); }) &&
                                    invertible(nim.qto_xyz)),
            path, ": the qform (qform_code ", nim.qform_code,
            ") is not a finite, invertible transform (NaN or Inf quaternion or offset)");
  FDL_CHECK(nim.sform_code <= 0 || invertible(nim.sto_xyz), path, ": the sform (sform_code ",
            nim.sform_code,
            ") is not a finite, invertible transform (NaN entries, or a singular matrix)");
}

// Why the start of a gzip file does not read, when zlib can tell ("" otherwise): nifti_clib's
// header read says only that it failed.
std::string gzip_problem(const std::string& path) {
  if (!nifti_is_gzfile(path.c_str())) return "";
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return "";
  char header[540];  // a NIfTI-2 header, the larger
  gzread(f, header, sizeof header);
  int err = Z_OK;
  const std::string msg = zlib_message(f, &err);
  const std::string why = err == Z_DATA_ERROR  ? ": the gzip stream is corrupt: " + msg
                          : err == Z_BUF_ERROR ? std::string(": the gzip stream is truncated")
                                               : std::string();
  gzclose(f);
  return why;
}

// gzread of `n` bytes into `p`, in steps that fit its int count; the bytes read.
size_t gz_read(gzFile f, char* p, size_t n) {
  size_t got = 0;
  while (got < n) {
    const int r = gzread(f, p + got, unsigned(std::min(n - got, size_t(1) << 30)));
    if (r <= 0) break;
    got += size_t(r);
  }
  return got;
}

// The `n` voxel bytes at `offset`, in this machine's byte order. zlib reads .nii and .nii.gz
// alike. The buffer grows with the data actually there, so a header that claims more than the
// file holds costs no more memory than the file's content; the data must end where the header
// says, so a gzip bomb stops there, and a gzip stream is read to its end, where zlib checks its
// CRC and length. (nifti_image_load would also zero NaN and Inf floats silently.)
std::vector<char> read_voxels(const nifti_image& nim, size_t n, const std::string& path) {
  std::error_code ec;
  const uintmax_t on_disk = fs::file_size(nim.iname, ec);
  const bool gz = nifti_is_gzfile(nim.iname);
  // Cheap bounds first: an uncompressed file must hold it all; deflate expands at most 1032:1.
  FDL_CHECK(ec || (gz ? double(n) <= 1032.0 * double(on_disk) + 4096
                      : n + size_t(nim.iname_offset) <= on_disk),
            path, ": image data could not be read: the header promises ", n,
            " bytes, more than the ", on_disk,
            "-byte file can hold (truncated file or corrupt header)");
  const std::string data_file = nim.iname == path ? path : path + " (data in " + nim.iname + ")";
  gzFile f = gzopen(nim.iname, "rb");
  FDL_CHECK(f, data_file, ": cannot open the image data");
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(f, gzclose);
  gzbuffer(f, 1 << 17);
  const auto failure = [&](const std::string& what) {
    int err = Z_OK;
    const std::string msg = zlib_message(f, &err);
    const std::string why = err == Z_DATA_ERROR ? ": the gzip stream is corrupt: " + msg
                            : err == Z_ERRNO    ? std::string(": ") + std::strerror(errno)
                                                : std::string();
    return Error(data_file + ": image data could not be read (truncated or corrupt file): " + what +
                 why);
  };
  const z_off_t offset = z_off_t(nim.iname_offset);
  if (offset > 0 && gzseek(f, offset, SEEK_SET) != offset)
    throw failure("the data offset " + std::to_string(nim.iname_offset) + " lies past its end");
  std::vector<char> buf;
  while (buf.size() < n) {
    const size_t had = buf.size(), step = std::min(n - had, std::max(had, size_t(1) << 20));
    buf.resize(had + step);
    const size_t got = gz_read(f, buf.data() + had, step);
    if (got < step)
      throw failure(detail::concat("it ends after ", had + got, " of the ", n,
                                   " voxel bytes its header declares"));
  }
  char extra;
  const int r = gzread(f, &extra, 1);
  if (r > 0)
    throw Error(data_file + ": holds more data than its header declares (" + std::to_string(n) +
                " voxel bytes from offset " + std::to_string(nim.iname_offset) +
                "): a corrupt header, or a gzip stream that expands beyond it");
  int err = Z_OK;
  gzerror(f, &err);
  if (r < 0 || err != Z_OK)
    throw failure(gz ? "the gzip stream does not end properly" : "read error");
  if (nim.byteorder != nifti_short_order() && nim.nbyper > 1)
    nifti_swap_Nbytes(int64_t(n) / nim.nbyper, nim.nbyper, buf.data());
  return buf;
}

// nifti_clib's complaints on stderr ("** ERROR: nifti_convert_n1hdr2nim: bad dim[0]") as one
// clause ("bad dim[0]"); other text captured with them (another thread's) goes on to stderr.
std::string nifti_complaint(const std::string& said) {
  std::string reasons, other;
  std::istringstream in(said);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("** ", 0) != 0 && line.rfind("++ ", 0) != 0) {
      other += line + "\n";
      continue;
    }
    line.erase(0, 3);
    // Leading tags and function names: "ERROR: ", "NIFTI: ", "nifti_convert_n1hdr2nim: ".
    for (size_t colon;
         (colon = line.find(": ")) != std::string::npos && line.find(' ') == colon + 1;)
      line.erase(0, colon + 2);
    if (!line.empty() && reasons.find(line) == std::string::npos)
      reasons += (reasons.empty() ? "" : "; ") + line;
  }
  if (!other.empty()) std::fputs(other.c_str(), stderr);
  return reasons;
}

// nifti_clib 3.0 trusts the dim[0] of a NIfTI-2 header (it guesses the byte order from its low
// 16 bits) and writes past its copy of the header on the stack when dim[0] is above 7, so that
// header is refused here first. Anything else that is not NIfTI-2 is left to nifti_clib.
void check_nifti2_dim0(const std::string& path) {
  znzFile fp = znzopen(path.c_str(), "rb", nifti_is_gzfile(path.c_str()));
  if (znz_isnull(fp)) return;
  unsigned char h[24];
  const bool got = znzread(h, 1, sizeof h, fp) == sizeof h;
  znzclose(fp);
  if (!got) return;
  int32_t size;
  int64_t dim0;
  std::memcpy(&size, h, sizeof size);
  std::memcpy(&dim0, h + 16, sizeof dim0);
  if (size != 540) {
    if (int32_t(__builtin_bswap32(uint32_t(size))) != 540) return;
    dim0 = int64_t(__builtin_bswap64(uint64_t(dim0)));
  }
  FDL_CHECK(dim0 >= 1 && dim0 <= 7, path,
            ": not a readable NIfTI file (NIfTI-2 header with dim[0] = ", dim0, ")");
}

// The header, checked: the dimensions fdl reads (d: X, Y, Z, C) and a usable geometry.
struct Header {
  NimPtr nim;
  int64_t ndim = 0, nvox = 1;
  std::array<int64_t, 4> d{1, 1, 1, 1};
};

Header read_header(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    throw Error(path + (err == ENOENT || err == ENOTDIR
                            ? ": no such file"
                            : ": cannot be read: " + io::errno_text(err)));
  }
  FDL_CHECK(S_ISREG(st.st_mode), path, ": not a regular file");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  FDL_CHECK(fd >= 0, path, ": cannot be read: ", io::errno_text(errno));
  ::close(fd);
  nifti_set_debug_level(0);
  check_nifti2_dim0(path);
  Header h;
  nifti_image* read = nullptr;
  const std::string complaint =
      nifti_complaint(io::capture_stderr([&] { read = nifti_image_read(path.c_str(), 0); }));
  h.nim.reset(read);
  const NimPtr& nim = h.nim;
  FDL_CHECK(nim, path, ": not a readable NIfTI file (",
            complaint.empty() ? "bad or missing header" : "nifti_clib: " + complaint, ")",
            gzip_problem(path));
  int64_t ndim = nim->dim[0];
  while (ndim > 3 && ndim < 8 && nim->dim[ndim] == 1) --ndim;  // trailing unit axes
  FDL_CHECK(ndim >= 1 && ndim <= 4, path, ": ", nim->dim[0],
            "-D image; fdl reads 3-D volumes and 4-D ones with channels on the 4th axis");
  h.ndim = ndim;
  for (int64_t i = 0; i < ndim; ++i) h.d[size_t(i)] = nim->dim[i + 1];
  for (int64_t v : h.d) {
    FDL_CHECK(v >= 1 && v <= kMaxVoxels, path, ": absurd dimension ", v, " in the header");
    h.nvox *= v;
    FDL_CHECK(h.nvox <= kMaxVoxels, path, ": ", h.nvox, "+ voxels is more than fdl reads");
  }
  check_geometry(*nim, path);
  return h;
}

std::array<double, 3> spacing_of(const nifti_image& nim) {
  std::array<double, 3> s{nim.dx, nim.dy, nim.dz};
  for (size_t i = size_t(std::min<int64_t>(3, nim.dim[0])); i < 3; ++i)
    if (!(s[i] > 0 && std::isfinite(s[i]))) s[i] = 1;  // an axis the file lacks
  return s;
}

}  // namespace

NiftiHeader read_nifti_header(const std::string& path) {
  const Header h = read_header(path);
  return {{h.d[0], h.d[1], h.d[2]}, spacing_of(*h.nim)};
}

Volume read_nifti(const std::string& path) {
  const Header h = read_header(path);
  const NimPtr& nim = h.nim;
  const int64_t ndim = h.ndim, nvox = h.nvox;
  const std::array<int64_t, 4>& d = h.d;
  switch (nim->datatype) {
    case DT_UINT8:
    case DT_INT8:
    case DT_INT16:
    case DT_UINT16:
    case DT_INT32:
    case DT_FLOAT32:
    case DT_FLOAT64: break;
    default:
      throw Error(path + ": voxel type " + nifti_datatype_string(nim->datatype) +
                  " is not supported (uint8, int8, int16, uint16, int32, float32, float64 are)");
  }
  // The stored bytes and the float32 tensor are held together while converting.
  const size_t stored = size_t(nvox) * size_t(nim->nbyper);
  check_memory(stored + size_t(nvox) * sizeof(float),
               detail::concat(path, ": reading its ", nvox, " voxels (", nim->nbyper,
                              " bytes each, as its header claims)"));
  const std::vector<char> bytes = read_voxels(*nim, stored, path);

  Volume v;
  const int64_t X = d[0], Y = d[1], Z = d[2], C = d[3];
  v.data = ndim == 4 ? Tensor::empty({C, X, Y, Z}) : Tensor::empty({X, Y, Z});
  float* out = v.data.data<float>();
  double slope = nim->scl_slope, inter = nim->scl_inter;
  if (slope == 0 || !std::isfinite(slope) || !std::isfinite(inter)) slope = 1, inter = 0;
  switch (nim->datatype) {
    case DT_UINT8: convert<uint8_t>(bytes.data(), out, d, slope, inter); break;
    case DT_INT8: convert<int8_t>(bytes.data(), out, d, slope, inter); break;
    case DT_INT16: convert<int16_t>(bytes.data(), out, d, slope, inter); break;
    case DT_UINT16: convert<uint16_t>(bytes.data(), out, d, slope, inter); break;
    case DT_INT32: convert<int32_t>(bytes.data(), out, d, slope, inter); break;
    case DT_FLOAT32: convert<float>(bytes.data(), out, d, slope, inter); break;
    default: convert<double>(bytes.data(), out, d, slope, inter); break;
  }
  // After scaling, which can overflow float32 too.
  const int64_t bad = std::count_if(out, out + nvox, [](float x) { return !std::isfinite(x); });
  FDL_CHECK(bad == 0, path, ": ", bad, " voxels are NaN or Inf");

  v.spacing = spacing_of(*nim);
  v.qform_code = nim->qform_code;
  v.sform_code = nim->sform_code;
  v.qform = from_mat(nim->qto_xyz);
  v.sform = from_mat(nim->sto_xyz);
  v.xyz_units = nim->xyz_units;
  v.time_units = nim->time_units;
  v.affine = v.sform_code > 0   ? v.sform
             : v.qform_code > 0 ? v.qform
                                : fallback_affine({X, Y, Z}, v.spacing);
  return v;
}

void write_nifti(const std::string& path, const Tensor& data, const Volume& header,
                 NiftiOutType type) {
  FDL_CHECK(data.defined() && (data.ndim() == 3 || data.ndim() == 4), path,
            ": write_nifti wants a (X, Y, Z) or (C, X, Y, Z) tensor");
  const Tensor t = data.to(Device::CPU).to(DType::F32);
  const bool four = t.ndim() == 4;
  const int64_t C = four ? t.size(0) : 1, X = t.size(-3), Y = t.size(-2), Z = t.size(-1);
  int64_t dims[8] = {four ? 4 : 3, X, Y, Z, C, 1, 1, 1};
  NimPtr nim(nifti_make_new_nim(dims, type == NiftiOutType::UInt8 ? DT_UINT8 : DT_FLOAT32, 1));
  FDL_CHECK(nim, path, ": cannot make a NIfTI image in memory");

  const float* in = t.data<float>();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t x = 0; x < X; ++x)
      for (int64_t y = 0; y < Y; ++y)
        for (int64_t z = 0; z < Z; ++z) {
          const float v = in[((c * X + x) * Y + y) * Z + z];
          const int64_t o = x + X * (y + Y * (z + Z * c));
          if (type == NiftiOutType::UInt8)
            static_cast<uint8_t*>(nim->data)[o] =
                uint8_t(std::lround(std::fmin(255.f, std::fmax(0.f, v))));
          else
            static_cast<float*>(nim->data)[o] = v;
        }

  nim->dx = nim->pixdim[1] = header.spacing[0];
  nim->dy = nim->pixdim[2] = header.spacing[1];
  nim->dz = nim->pixdim[3] = header.spacing[2];
  nim->xyz_units = header.xyz_units;
  nim->time_units = header.time_units;
  nim->qform_code = header.qform_code;
  nim->sform_code = header.sform_code;
  nim->sto_xyz = to_mat(header.sform);
  nim->qto_xyz = to_mat(header.qform);
  if (header.qform_code > 0) {  // the writer stores the qform as quaternion parameters
    double dx, dy, dz;
    nifti_dmat44_to_quatern(nim->qto_xyz, &nim->quatern_b, &nim->quatern_c, &nim->quatern_d,
                            &nim->qoffset_x, &nim->qoffset_y, &nim->qoffset_z, &dx, &dy, &dz,
                            &nim->qfac);
  }
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;

  // nifti_clib lays out the header; the bytes go through fdl's checked atomic write, since
  // nifti_image_write reports no failed write (on a full disk it leaves a truncated file).
  const std::string name = fs::path(path).filename().string();
  const bool gz = name.size() > 7 && name.compare(name.size() - 7, 7, ".nii.gz") == 0;
  FDL_CHECK(gz || (name.size() > 4 && name.compare(name.size() - 4, 4, ".nii") == 0), path,
            ": NIfTI output must end in .nii or .nii.gz");
  nifti_set_iname_offset(nim.get(), 1);
  nifti_1_header hdr;
  int converted = -1;
  const std::string complaint = nifti_complaint(
      io::capture_stderr([&] { converted = nifti_convert_nim2n1hdr(nim.get(), &hdr); }));
  FDL_CHECK(converted == 0, path, ": cannot make a NIfTI-1 header",
            complaint.empty() ? "" : " (nifti_clib: " + complaint + ")");
  std::string bytes(size_t(nim->iname_offset), '\0');  // the header, then an empty extension list
  std::memcpy(bytes.data(), &hdr, sizeof hdr);
  bytes.append(static_cast<const char*>(nim->data), size_t(nim->nvox) * size_t(nim->nbyper));
  io::write_file_atomic(path, gz ? gzip(bytes, path) : bytes);
}

Volume regrid_header(const Volume& header, std::array<double, 3> scale,
                     std::array<double, 3> shift) {
  Affine m{};
  for (size_t i = 0; i < 3; ++i) m[i][i] = scale[i], m[i][3] = shift[i];
  m[3][3] = 1;
  Volume v = header;
  v.data = Tensor();
  for (size_t i = 0; i < 3; ++i) v.spacing[i] = header.spacing[i] * scale[i];
  v.affine = matmul(header.affine, m);
  v.qform = matmul(header.qform, m);
  v.sform = matmul(header.sform, m);
  if (header.qform_code <= 0 && header.sform_code <= 0) {
    v.sform = v.affine;
    v.sform_code = NIFTI_XFORM_ALIGNED_ANAT;
  }
  return v;
}

}  // namespace fdl
