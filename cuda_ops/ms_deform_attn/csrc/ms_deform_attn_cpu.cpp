// Multi-scale deformable attention: CPU forward and backward.
//
// Semantics match the pure-PyTorch core (F.grid_sample, bilinear, zeros padding,
// align_corners=False): pixel coordinate = loc * size - 0.5, corners outside the map read zero.
// Registered as private ops in namespace `vis_bench_msda_cpu`; the public op
// `vis_bench_ops::ms_deform_attn` (Python, cuda_ops/ms_deform_attn/op.py) delegates here.
//
// Layout: value [B, S, M, D], spatial_shapes int64 [L, 2] (H, W), level_start_index int64 [L],
// sampling_locations [B, Q, M, L, P, 2] (x, y in [0, 1]), attention_weights [B, Q, M, L, P],
// output [B, Q, M * D]. Channels are innermost, so every corner read is one contiguous D-vector.
//
// Dtypes: value's dtype selects the kernel. float32 and float64 compute in their own type, and
// locations and weights must share it. float16 and bfloat16 compute in float (at::opmath_type):
// locations and weights, which may be float32 too (autocast runs the Linear layers that make
// value and the weights in the half type, while the locations stay float32), are read as float,
// every sum is float, and each output row and each gradient is rounded once, when written.

// Per-operator headers only: much faster to compile than <ATen/ATen.h>.
#define TORCH_ASSERT_ONLY_METHOD_OPERATORS
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros_like.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <tuple>
#include <type_traits>
#include <vector>

namespace {

struct Dims {
  int64_t B, S, M, D, L, Q, P;
};

Dims check_inputs(const at::Tensor& value, const at::Tensor& spatial_shapes,
                  const at::Tensor& level_start_index, const at::Tensor& loc,
                  const at::Tensor& attn) {
  TORCH_CHECK(value.dim() == 4, "value must be [B, S, M, D]");
  TORCH_CHECK(loc.dim() == 6 && loc.size(5) == 2, "sampling_locations must be [B, Q, M, L, P, 2]");
  TORCH_CHECK(attn.dim() == 5, "attention_weights must be [B, Q, M, L, P]");
  TORCH_CHECK(spatial_shapes.dim() == 2 && spatial_shapes.size(1) == 2,
              "spatial_shapes must be [L, 2]");
  TORCH_CHECK(spatial_shapes.scalar_type() == at::kLong &&
                  level_start_index.scalar_type() == at::kLong,
              "spatial_shapes and level_start_index must be int64");
  const auto dtype = value.scalar_type();
  const bool half = dtype == at::kHalf || dtype == at::kBFloat16;
  const auto accepted = [&](at::ScalarType t) { return t == dtype || (half && t == at::kFloat); };
  TORCH_CHECK(accepted(loc.scalar_type()) && accepted(attn.scalar_type()),
              "value, sampling_locations and attention_weights must share a dtype (with a "
              "float16 or bfloat16 value, float32 locations and weights are accepted too)");
  Dims d{value.size(0), value.size(1), value.size(2), value.size(3),
         spatial_shapes.size(0), loc.size(1), loc.size(4)};
  TORCH_CHECK(loc.size(0) == d.B && loc.size(2) == d.M && loc.size(3) == d.L,
              "sampling_locations shape does not match value/spatial_shapes");
  TORCH_CHECK(attn.size(0) == d.B && attn.size(1) == d.Q && attn.size(2) == d.M &&
                  attn.size(3) == d.L && attn.size(4) == d.P,
              "attention_weights shape does not match sampling_locations");
  TORCH_CHECK(level_start_index.numel() == d.L, "level_start_index must have L entries");
  // the kernels index value with these, so an inconsistent level must not read out of bounds
  const auto shapes = spatial_shapes.contiguous();
  const auto starts = level_start_index.contiguous();
  for (int64_t l = 0; l < d.L; ++l) {
    const int64_t H = shapes.data_ptr<int64_t>()[2 * l], W = shapes.data_ptr<int64_t>()[2 * l + 1];
    const int64_t start = starts.data_ptr<int64_t>()[l];
    if (!(H >= 0 && W >= 0 && start >= 0 && start + H * W <= d.S)) {
      // One C string, not TORCH_CHECK's several message parts: those are joined by c10::str
      // (an ostringstream) compiled into this extension, and with the torch 2.11+cu130 wheel and
      // an extension built by Ubuntu's g++ 13.3 any c10::str call here crashed the process
      // (SIGSEGV), thrown or not. A literal or snprintf'd message raises normally.
      char message[160];
      std::snprintf(message, sizeof(message),
                    "level %" PRId64 ": level_start_index %" PRId64 " + %" PRId64 "x%" PRId64
                    " exceeds value's %" PRId64 " tokens",
                    l, start, H, W, d.S);
      TORCH_CHECK(false, static_cast<const char*>(message));
    }
  }
  return d;
}

// Bilinear setup shared by forward and backward: corner indices (-1 when outside) and weights.
template <typename scalar_t>
struct Corners {
  int64_t idx[4];  // row offset (in spatial positions) of corners 00, 01, 10, 11, or -1
  scalar_t w[4];   // bilinear weights hy*hx, hy*lx, ly*hx, ly*lx
  scalar_t lx, ly, hx, hy;
};

template <typename scalar_t>
inline bool make_corners(scalar_t x_loc, scalar_t y_loc, int64_t H, int64_t W, int64_t start,
                         Corners<scalar_t>& c) {
  const scalar_t x = x_loc * static_cast<scalar_t>(W) - scalar_t(0.5);
  const scalar_t y = y_loc * static_cast<scalar_t>(H) - scalar_t(0.5);
  // every corner is outside (also rejects NaN/inf before the integer cast)
  if (!(x > scalar_t(-2) && y > scalar_t(-2) && x < static_cast<scalar_t>(W + 1) &&
        y < static_cast<scalar_t>(H + 1))) {
    return false;
  }
  const scalar_t xf = std::floor(x);
  const scalar_t yf = std::floor(y);
  const int64_t x0 = static_cast<int64_t>(xf);
  const int64_t y0 = static_cast<int64_t>(yf);
  c.lx = x - xf;
  c.ly = y - yf;
  c.hx = scalar_t(1) - c.lx;
  c.hy = scalar_t(1) - c.ly;
  c.w[0] = c.hy * c.hx;
  c.w[1] = c.hy * c.lx;
  c.w[2] = c.ly * c.hx;
  c.w[3] = c.ly * c.lx;
  const bool x0_in = x0 >= 0 && x0 < W;
  const bool x1_in = x0 + 1 >= 0 && x0 + 1 < W;
  const bool y0_in = y0 >= 0 && y0 < H;
  const bool y1_in = y0 + 1 >= 0 && y0 + 1 < H;
  c.idx[0] = (y0_in && x0_in) ? start + y0 * W + x0 : -1;
  c.idx[1] = (y0_in && x1_in) ? start + y0 * W + x0 + 1 : -1;
  c.idx[2] = (y1_in && x0_in) ? start + (y0 + 1) * W + x0 : -1;
  c.idx[3] = (y1_in && x1_in) ? start + (y0 + 1) * W + x0 + 1 : -1;
  return true;
}

// Channel loop with the head width known at compile time (kDim > 0) for the common sizes, so
// the compiler fully unrolls and vectorises it; kDim == 0 handles any other width.
template <typename scalar_t, int kDim>
inline void axpy(scalar_t* __restrict__ o, const scalar_t* __restrict__ v, scalar_t a,
                 int64_t D) {
  if constexpr (kDim > 0) {
    for (int k = 0; k < kDim; ++k) o[k] += a * v[k];
  } else {
    for (int64_t k = 0; k < D; ++k) o[k] += a * v[k];
  }
}

// Half types: the channel loops run in float on a value row widened into a small buffer.
// c10's scalar float16 -> float conversion is integer bit manipulation unless the compiler may
// use F16C (-mf16c), and the extension is built for any x86-64 CPU; so an 8-wide F16C
// conversion is compiled for that target alone and used when the CPU has it (since ~2012).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define VIS_BENCH_MSDA_F16C 1
__attribute__((target("avx,f16c"))) void widen_f16c(const at::Half* src, float* dst, int64_t n) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m128i halves = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k));
    _mm256_storeu_ps(dst + k, _mm256_cvtph_ps(halves));
  }
  for (; k < n; ++k) dst[k] = _cvtsh_ss(src[k].x);
}

bool cpu_has_f16c() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
  }();
  return has;
}
#endif

template <typename scalar_t>
inline void widen_row(const scalar_t* __restrict__ src, float* __restrict__ dst, int64_t D) {
#ifdef VIS_BENCH_MSDA_F16C
  if constexpr (std::is_same_v<scalar_t, at::Half>) {
    if (cpu_has_f16c()) {
      widen_f16c(src, dst, D);
      return;
    }
  }
#endif
  for (int64_t k = 0; k < D; ++k) dst[k] = static_cast<float>(src[k]);
}

constexpr int64_t kBatch = 64;  // corners gathered before accumulating (4 levels x 4 points x 4)

inline void prefetch_row(const void* row, int64_t bytes) {
  const char* p = static_cast<const char*>(row);
  for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off);
}

// o += sum_i weights[i] * rows[i]; `widened` (D floats) is used only by the half types.
template <typename scalar_t, typename acc_t, int kDim>
inline void flush(acc_t* __restrict__ o, const scalar_t* const* rows, const acc_t* weights,
                  int64_t n, int64_t D, acc_t* widened) {
  if constexpr (std::is_same_v<scalar_t, acc_t>) {
    for (int64_t i = 0; i < n; ++i) axpy<acc_t, kDim>(o, rows[i], weights[i], D);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      widen_row(rows[i], widened, D);
      axpy<acc_t, kDim>(o, widened, weights[i], D);
    }
  }
}

// loc and attn are in acc_t: value's own type for float/double, float for the half types.
template <typename scalar_t, int kDim>
void forward_kernel(const scalar_t* __restrict__ value, const int64_t* shapes,
                    const int64_t* starts, const at::opmath_type<scalar_t>* __restrict__ loc,
                    const at::opmath_type<scalar_t>* __restrict__ attn,
                    scalar_t* __restrict__ out, const Dims& d) {
  using acc_t = at::opmath_type<scalar_t>;
  // half types sum each output row in a float buffer and round it once; float/double sum in place
  constexpr bool kWiden = !std::is_same_v<acc_t, scalar_t>;
  const int64_t value_row = d.M * d.D;  // stride between spatial positions in value
  const int64_t total = d.B * d.Q * d.M;
  const int64_t grain = std::max<int64_t>(1, 2048 / std::max<int64_t>(1, d.L * d.P));
  at::parallel_for(0, total, grain, [&](int64_t begin, int64_t end) {
    const scalar_t* rows[kBatch];
    acc_t weights[kBatch];
    std::vector<acc_t> row_sum(kWiden ? d.D : 0), widened(kWiden ? d.D : 0);
    for (int64_t bqm = begin; bqm < end; ++bqm) {
      const int64_t m = bqm % d.M;
      const int64_t b = bqm / (d.Q * d.M);
      const scalar_t* vbase = value + b * d.S * value_row + m * d.D;
      const acc_t* lp = loc + bqm * d.L * d.P * 2;
      const acc_t* ap = attn + bqm * d.L * d.P;
      acc_t* o;
      if constexpr (kWiden) {
        o = row_sum.data();
      } else {
        o = out + bqm * d.D;
      }
      for (int64_t k = 0; k < d.D; ++k) o[k] = acc_t(0);
      // Pass 1: corner addresses and weights of every point, prefetching the rows, so the
      // (mostly cache-missing) reads of pass 2 overlap instead of stalling one by one.
      int64_t n = 0;
      for (int64_t l = 0; l < d.L; ++l) {
        const int64_t H = shapes[2 * l], W = shapes[2 * l + 1], start = starts[l];
        for (int64_t p = 0; p < d.P; ++p, lp += 2, ++ap) {
          Corners<acc_t> c;
          if (!make_corners(lp[0], lp[1], H, W, start, c)) continue;
          for (int corner = 0; corner < 4; ++corner) {
            if (c.idx[corner] < 0) continue;
            if (n == kBatch) {
              flush<scalar_t, acc_t, kDim>(o, rows, weights, n, d.D, widened.data());
              n = 0;
            }
            rows[n] = vbase + c.idx[corner] * value_row;
            weights[n] = *ap * c.w[corner];
            prefetch_row(rows[n], d.D * static_cast<int64_t>(sizeof(scalar_t)));
            ++n;
          }
        }
      }
      flush<scalar_t, acc_t, kDim>(o, rows, weights, n, d.D, widened.data());
      if constexpr (kWiden) {
        scalar_t* row = out + bqm * d.D;
        for (int64_t k = 0; k < d.D; ++k) row[k] = static_cast<scalar_t>(o[k]);
      }
    }
  });
}

// Backward. grad_value is a scatter, so work is split by (batch, head): every (b, m) owns the
// disjoint slice grad_value[b, :, m, :], and the per-point grads are written once each.
// dot(g, v) and gv += a * g in one pass over the channels (see axpy for kDim).
template <typename scalar_t, int kDim>
inline scalar_t dot_axpy(const scalar_t* __restrict__ g, const scalar_t* __restrict__ v,
                         scalar_t* __restrict__ gv, scalar_t a, int64_t D) {
  scalar_t dot = 0;
  if constexpr (kDim > 0 && kDim % 8 == 0) {
    // eight independent partial sums: a reduction the compiler may vectorise without -ffast-math
    scalar_t lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int k = 0; k < kDim; k += 8) {
      for (int j = 0; j < 8; ++j) {
        lanes[j] += g[k + j] * v[k + j];
        gv[k + j] += a * g[k + j];
      }
    }
    dot = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
          ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  } else if constexpr (kDim > 0) {
    for (int k = 0; k < kDim; ++k) {
      dot += g[k] * v[k];
      gv[k] += a * g[k];
    }
  } else {
    for (int64_t k = 0; k < D; ++k) {
      dot += g[k] * v[k];
      gv[k] += a * g[k];
    }
  }
  return dot;
}

// Everything but value is in acc_t (float for the half types: the caller widens grad_output,
// locations and weights, and rounds the three gradients once at the end).
template <typename scalar_t, int kDim>
void backward_kernel(const at::opmath_type<scalar_t>* __restrict__ grad_out,
                     const scalar_t* __restrict__ value, const int64_t* shapes,
                     const int64_t* starts, const at::opmath_type<scalar_t>* __restrict__ loc,
                     const at::opmath_type<scalar_t>* __restrict__ attn,
                     at::opmath_type<scalar_t>* __restrict__ grad_value,
                     at::opmath_type<scalar_t>* __restrict__ grad_loc,
                     at::opmath_type<scalar_t>* __restrict__ grad_attn, const Dims& d) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t value_row = d.M * d.D;
  const int64_t row_bytes = d.D * static_cast<int64_t>(sizeof(scalar_t));
  const int64_t grad_row_bytes = d.D * static_cast<int64_t>(sizeof(acc_t));
  at::parallel_for(0, d.B * d.M, 1, [&](int64_t begin, int64_t end) {
    std::vector<Corners<acc_t>> points(d.L * d.P);
    std::vector<char> inside(d.L * d.P);
    std::vector<acc_t> widened(std::is_same_v<scalar_t, acc_t> ? 0 : d.D);
    for (int64_t bm = begin; bm < end; ++bm) {
      const int64_t b = bm / d.M, m = bm % d.M;
      const scalar_t* vbase = value + b * d.S * value_row + m * d.D;
      acc_t* gvbase = grad_value + b * d.S * value_row + m * d.D;
      for (int64_t q = 0; q < d.Q; ++q) {
        const int64_t bqm = (b * d.Q + q) * d.M + m;
        const acc_t* g = grad_out + bqm * d.D;
        const acc_t* ap = attn + bqm * d.L * d.P;
        acc_t* glp = grad_loc + bqm * d.L * d.P * 2;
        acc_t* gap = grad_attn + bqm * d.L * d.P;
        // Pass 1: corners of every point, prefetching value and grad_value rows (see forward).
        const acc_t* lp = loc + bqm * d.L * d.P * 2;
        for (int64_t l = 0, i = 0; l < d.L; ++l) {
          const int64_t H = shapes[2 * l], W = shapes[2 * l + 1], start = starts[l];
          for (int64_t p = 0; p < d.P; ++p, ++i, lp += 2) {
            inside[i] = make_corners(lp[0], lp[1], H, W, start, points[i]);
            if (!inside[i]) continue;
            for (int corner = 0; corner < 4; ++corner) {
              if (points[i].idx[corner] < 0) continue;
              const int64_t row = points[i].idx[corner] * value_row;
              prefetch_row(vbase + row, row_bytes);
              prefetch_row(gvbase + row, grad_row_bytes);
            }
          }
        }
        // Pass 2: the gradients.
        for (int64_t l = 0, i = 0; l < d.L; ++l) {
          const int64_t H = shapes[2 * l], W = shapes[2 * l + 1];
          for (int64_t p = 0; p < d.P; ++p, ++i) {
            const Corners<acc_t>& c = points[i];
            if (!inside[i]) {
              glp[2 * i] = glp[2 * i + 1] = gap[i] = acc_t(0);
              continue;
            }
            const acc_t a = ap[i];
            acc_t dots[4] = {0, 0, 0, 0};  // <grad_out, corner value>
            for (int corner = 0; corner < 4; ++corner) {
              if (c.idx[corner] < 0) continue;
              const int64_t row = c.idx[corner] * value_row;
              const acc_t* v;
              if constexpr (std::is_same_v<scalar_t, acc_t>) {
                v = vbase + row;
              } else {
                widen_row(vbase + row, widened.data(), d.D);
                v = widened.data();
              }
              dots[corner] = dot_axpy<acc_t, kDim>(g, v, gvbase + row, a * c.w[corner], d.D);
            }
            gap[i] = c.w[0] * dots[0] + c.w[1] * dots[1] + c.w[2] * dots[2] + c.w[3] * dots[3];
            const acc_t gx = a * (c.hy * (dots[1] - dots[0]) + c.ly * (dots[3] - dots[2]));
            const acc_t gy = a * (c.hx * (dots[2] - dots[0]) + c.lx * (dots[3] - dots[1]));
            glp[2 * i] = gx * static_cast<acc_t>(W);
            glp[2 * i + 1] = gy * static_cast<acc_t>(H);
          }
        }
      }
    }
  });
}

at::Tensor ms_deform_attn_forward(const at::Tensor& value, const at::Tensor& spatial_shapes,
                                  const at::Tensor& level_start_index, const at::Tensor& loc,
                                  const at::Tensor& attn) {
  const Dims d = check_inputs(value, spatial_shapes, level_start_index, loc, attn);
  auto v = value.contiguous();
  auto s = spatial_shapes.contiguous();
  auto st = level_start_index.contiguous();
  auto out = at::empty({d.B, d.Q, d.M * d.D}, value.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, value.scalar_type(),
                                  "ms_deform_attn_forward_cpu", [&] {
    // locations and weights in acc_t (for float and double, .to() returns them as they are)
    using acc_t = at::opmath_type<scalar_t>;
    const auto acc_type = c10::CppTypeToScalarType<acc_t>::value;
    auto lc = loc.to(acc_type).contiguous();
    auto at_ = attn.to(acc_type).contiguous();
    const auto args = std::make_tuple(v.data_ptr<scalar_t>(), s.data_ptr<int64_t>(),
                                      st.data_ptr<int64_t>(), lc.data_ptr<acc_t>(),
                                      at_.data_ptr<acc_t>(), out.data_ptr<scalar_t>(), d);
    switch (d.D) {
      case 32:
        std::apply(forward_kernel<scalar_t, 32>, args);
        break;
      case 64:
        std::apply(forward_kernel<scalar_t, 64>, args);
        break;
      case 16:
        std::apply(forward_kernel<scalar_t, 16>, args);
        break;
      default:
        std::apply(forward_kernel<scalar_t, 0>, args);
    }
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> ms_deform_attn_backward(
    const at::Tensor& grad_output, const at::Tensor& value, const at::Tensor& spatial_shapes,
    const at::Tensor& level_start_index, const at::Tensor& loc, const at::Tensor& attn) {
  const Dims d = check_inputs(value, spatial_shapes, level_start_index, loc, attn);
  TORCH_CHECK(grad_output.numel() == d.B * d.Q * d.M * d.D, "grad_output has the wrong size");
  auto v = value.contiguous();
  auto s = spatial_shapes.contiguous();
  auto st = level_start_index.contiguous();
  at::Tensor grad_value, grad_loc, grad_attn;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, value.scalar_type(),
                                  "ms_deform_attn_backward_cpu", [&] {
    // everything but value in acc_t: for float and double the tensors themselves (.to() returns
    // them as they are), for the half types float32 copies and buffers; each gradient is then
    // returned in its input's dtype (rounded once)
    using acc_t = at::opmath_type<scalar_t>;
    const auto acc_type = c10::CppTypeToScalarType<acc_t>::value;
    auto g = grad_output.to(acc_type).contiguous();
    auto lc = loc.to(acc_type).contiguous();
    auto at_ = attn.to(acc_type).contiguous();
    auto grad_value_acc = at::zeros_like(v, v.options().dtype(acc_type));
    auto grad_loc_acc = at::empty_like(lc);
    auto grad_attn_acc = at::empty_like(at_);
    const auto args = std::make_tuple(
        g.data_ptr<acc_t>(), v.data_ptr<scalar_t>(), s.data_ptr<int64_t>(),
        st.data_ptr<int64_t>(), lc.data_ptr<acc_t>(), at_.data_ptr<acc_t>(),
        grad_value_acc.data_ptr<acc_t>(), grad_loc_acc.data_ptr<acc_t>(),
        grad_attn_acc.data_ptr<acc_t>(), d);
    switch (d.D) {
      case 32:
        std::apply(backward_kernel<scalar_t, 32>, args);
        break;
      case 64:
        std::apply(backward_kernel<scalar_t, 64>, args);
        break;
      case 16:
        std::apply(backward_kernel<scalar_t, 16>, args);
        break;
      default:
        std::apply(backward_kernel<scalar_t, 0>, args);
    }
    grad_value = grad_value_acc.to(value.scalar_type());
    grad_loc = grad_loc_acc.to(loc.scalar_type());
    grad_attn = grad_attn_acc.to(attn.scalar_type());
  });
  return {grad_value, grad_loc, grad_attn};
}

}  // namespace

TORCH_LIBRARY(vis_bench_msda_cpu, m) {
  m.def(
      "forward(Tensor value, Tensor spatial_shapes, Tensor level_start_index, "
      "Tensor sampling_locations, Tensor attention_weights) -> Tensor");
  m.def(
      "backward(Tensor grad_output, Tensor value, Tensor spatial_shapes, "
      "Tensor level_start_index, Tensor sampling_locations, Tensor attention_weights) "
      "-> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(vis_bench_msda_cpu, CPU, m) {
  m.impl("forward", &ms_deform_attn_forward);
  m.impl("backward", &ms_deform_attn_backward);
}
