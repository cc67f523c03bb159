#include "models/unet3d.h"

#include "engine/ops/concat.h"
#include "engine/ops/dropout.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/instance_norm.h"
#include "engine/ops/upsample.h"

namespace fdl {

namespace {
// A named container for the convs that the release keeps inside nn.Sequential blocks.
class Sequential : public Module {
 public:
  void add(const std::string& index, std::shared_ptr<Conv3d> c) {
    register_module(index, std::move(c));
  }
};

Tensor lrelu(const Tensor& x) { return leaky_relu(x, 0.01); }
// Fused: its backward keeps only the output, half the memory of the composition.
Tensor norm_lrelu(const Tensor& x) { return instance_norm_leaky_relu(x, 0.01); }
}  // namespace

UNet3D::ConvPtr UNet3D::conv(const std::string& path, int cin, int cout, int k, int stride,
                             Generator& g) {
  auto c = std::make_shared<Conv3d>(cin, cout, k, stride, k == 3 ? 1 : 0, false, g);
  const size_t dot = path.find('.');
  if (dot == std::string::npos) {
    register_module(path, c);
  } else {
    auto seq = std::make_shared<Sequential>();
    seq->add(path.substr(dot + 1), c);
    register_module(path.substr(0, dot), seq);
  }
  return c;
}

// Registration order and names follow the released module's state_dict (docs/method.md §4.5).
UNet3D::UNet3D(const ModelOptions& opt, Generator& g) : opt_(opt) {
  const int F = opt.base_filters, cin = opt.in_channels, K = opt.classes;
  c1_1_ = conv("conv3d_c1_1", cin, F, 3, 1, g);
  c1_2_ = conv("conv3d_c1_2", F, F, 3, 1, g);
  c1_3_ = conv("lrelu_conv_c1.1", F, F, 3, 1, g);
  c2_ = conv("conv3d_c2", F, 2 * F, 3, 2, g);
  b2_ = conv("norm_lrelu_conv_c2.2", 2 * F, 2 * F, 3, 1, g);
  c3_ = conv("conv3d_c3", 2 * F, 4 * F, 3, 2, g);
  b3_ = conv("norm_lrelu_conv_c3.2", 4 * F, 4 * F, 3, 1, g);
  l2_conv_ = conv("conv_norm_lrelu_l2.0", 8 * F, 8 * F, 3, 1, g);
  l2_1x1_ = conv("conv3d_l2", 8 * F, 4 * F, 1, 1, g);
  l2_up_ = conv("norm_lrelu_upscale_conv_norm_lrelu_l2.3", 4 * F, 2 * F, 3, 1, g);
  l3_conv_ = conv("conv_norm_lrelu_l3.0", 4 * F, 4 * F, 3, 1, g);
  l3_1x1_ = conv("conv3d_l3", 4 * F, 2 * F, 1, 1, g);
  l3_up_ = conv("norm_lrelu_upscale_conv_norm_lrelu_l3.3", 2 * F, F, 3, 1, g);
  l4_conv_ = conv("conv_norm_lrelu_l4.0", 2 * F, 2 * F, 3, 1, g);
  head1_ = conv("conv3d_l4", 2 * F, K, 1, 1, g);
  head2_ = conv("ds3_1x1_conv3d", 2 * F, K, 1, 1, g);
}

Tensor UNet3D::dropout(const Tensor& x) {
  return dropout3d(x, opt_.dropout, training(), dropout_gen_);
}

UNet3D::Encoded UNet3D::encode(const Tensor& a) {
  Encoded e;
  // L1: two convs with dropout between, a residual from `a`.
  Tensor t = (*c1_3_)(lrelu(dropout((*c1_2_)(lrelu(a)))));
  t = add(t, a);
  e.context1 = lrelu(t);
  t = norm_lrelu(t);
  // L2 and L3: a strided conv, then one norm-lrelu-conv block applied twice around dropout.
  auto level = [&](Conv3d& down, Conv3d& block, const Tensor& in) {
    const Tensor d = down(in);
    const Tensor s = add(block(norm_lrelu(dropout(block(norm_lrelu(d))))), d);
    return norm_lrelu(s);
  };
  e.context2 = level(*c2_, *b2_, t);
  e.out = level(*c3_, *b3_, e.context2);
  return e;
}

Tensor UNet3D::decode(const Encoded& e) {
  Tensor t = concat_channels({e.out, e.out});  // the release concatenates context3 with itself
  t = norm_lrelu((*l2_conv_)(t));
  t = (*l2_1x1_)(t);
  t = norm_lrelu((*l2_up_)(upsample_nearest2x(norm_lrelu(t))));
  t = concat_channels({t, e.context2});
  t = norm_lrelu((*l3_conv_)(t));
  t = (*l3_1x1_)(t);
  return norm_lrelu((*l3_up_)(upsample_nearest2x(norm_lrelu(t))));
}

Tensor UNet3D::head(const Tensor& up, const Tensor& context1) {
  const Tensor ds = norm_lrelu((*l4_conv_)(concat_channels({up, context1})));
  return add((*head1_)(ds), (*head2_)(ds));
}

Tensor UNet3D::forward(const Tensor& x) {
  const Encoded e = encode((*c1_1_)(x));
  return head(decode(e), e.context1);
}

}  // namespace fdl
