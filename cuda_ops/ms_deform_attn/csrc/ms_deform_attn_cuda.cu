// Multi-scale deformable attention: CUDA forward and backward.
//
// Same semantics as the CPU kernel and the PyTorch reference (F.grid_sample, bilinear, zeros
// padding, align_corners=False). Forward: one thread per output element (b, q, m, d), or per
// four channels of one for float32 when D % 4 == 0 (forward_kernel_vec4).
// Backward: one thread per (b, q, m, d) too; value grads are scattered with atomicAdd, and the
// per-point location/weight grads are summed over the D channels of a head with warp shuffles
// when D divides 32 or 32 divides D (SeqFormer: D = 32, one warp per head), each lane group then
// adding its sum into zero-initialised buffers with one atomicAdd; other D fall back to one
// atomicAdd per channel thread.
// Dtypes, as in the CPU kernel: value's dtype selects the kernel. float32 and float64 compute in
// their own type, and locations and weights must share it. float16 and bfloat16 compute in float
// (at::opmath_type): locations and weights (which may be float32 too, as under autocast) are
// converted to float32, bilinear weights and sums are float, the forward rounds each output
// once; the backward accumulates the three gradients in float32 buffers (float atomics), each
// returned in its input's dtype.
// Registered as private ops in namespace `vis_bench_msda_cuda`. Only CUDA runtime and core
// ATen/c10 headers are used (no c10/cuda), so the source also compiles against CPU-only torch
// headers; the caller passes the current stream as an integer handle
// (torch.cuda.current_stream().cuda_stream).

// Per-operator headers only: much faster to compile than <ATen/ATen.h>.
#define TORCH_ASSERT_ONLY_METHOD_OPERATORS
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros_like.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <c10/core/DeviceGuard.h>
#include <torch/library.h>

#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <tuple>

namespace {

constexpr int kThreads = 256;

template <typename scalar_t>
struct Sample {
  int64_t idx[4];  // corner offsets in spatial positions (absolute in value), -1 when outside
  scalar_t w[4];
  scalar_t lx, ly, hx, hy;
  bool any;
};

template <typename scalar_t>
__device__ __forceinline__ Sample<scalar_t> make_sample(scalar_t x_loc, scalar_t y_loc, int64_t H,
                                                        int64_t W, int64_t start) {
  Sample<scalar_t> s;
  const scalar_t x = x_loc * static_cast<scalar_t>(W) - scalar_t(0.5);
  const scalar_t y = y_loc * static_cast<scalar_t>(H) - scalar_t(0.5);
  s.any = x > scalar_t(-2) && y > scalar_t(-2) && x < static_cast<scalar_t>(W + 1) &&
          y < static_cast<scalar_t>(H + 1);
  if (!s.any) return s;
  const scalar_t xf = floor(x);
  const scalar_t yf = floor(y);
  const int64_t x0 = static_cast<int64_t>(xf);
  const int64_t y0 = static_cast<int64_t>(yf);
  s.lx = x - xf;
  s.ly = y - yf;
  s.hx = scalar_t(1) - s.lx;
  s.hy = scalar_t(1) - s.ly;
  s.w[0] = s.hy * s.hx;
  s.w[1] = s.hy * s.lx;
  s.w[2] = s.ly * s.hx;
  s.w[3] = s.ly * s.lx;
  const bool x0_in = x0 >= 0 && x0 < W;
  const bool x1_in = x0 + 1 >= 0 && x0 + 1 < W;
  const bool y0_in = y0 >= 0 && y0 < H;
  const bool y1_in = y0 + 1 >= 0 && y0 + 1 < H;
  s.idx[0] = (y0_in && x0_in) ? start + y0 * W + x0 : -1;
  s.idx[1] = (y0_in && x1_in) ? start + y0 * W + x0 + 1 : -1;
  s.idx[2] = (y1_in && x0_in) ? start + (y0 + 1) * W + x0 : -1;
  s.idx[3] = (y1_in && x1_in) ? start + (y0 + 1) * W + x0 + 1 : -1;
  return s;
}

template <typename scalar_t>
__global__ void forward_kernel(const scalar_t* __restrict__ value,
                               const int64_t* __restrict__ shapes,
                               const int64_t* __restrict__ starts,
                               const at::opmath_type<scalar_t>* __restrict__ loc,
                               const at::opmath_type<scalar_t>* __restrict__ attn,
                               scalar_t* __restrict__ out, int64_t B, int64_t S, int64_t M,
                               int64_t D, int64_t L, int64_t Q, int64_t P) {
  using acc_t = at::opmath_type<scalar_t>;  // scalar_t itself for float and double
  const int64_t total = B * Q * M * D;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t d = i % D;
    const int64_t bqm = i / D;
    const int64_t m = bqm % M;
    const int64_t b = bqm / (Q * M);
    const scalar_t* vbase = value + b * S * M * D + m * D + d;
    const acc_t* lp = loc + bqm * L * P * 2;
    const acc_t* ap = attn + bqm * L * P;
    acc_t acc = 0;
    for (int64_t l = 0; l < L; ++l) {
      const int64_t H = shapes[2 * l], W = shapes[2 * l + 1], start = starts[l];
      for (int64_t p = 0; p < P; ++p, lp += 2, ++ap) {
        const Sample<acc_t> s = make_sample(lp[0], lp[1], H, W, start);
        if (!s.any) continue;
        acc_t v = 0;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          if (s.idx[c] >= 0) v += s.w[c] * static_cast<acc_t>(vbase[s.idx[c] * M * D]);
        }
        acc += *ap * v;
      }
    }
    out[i] = static_cast<scalar_t>(acc);
  }
}

// Forward for float32 with four channels per thread (D % 4 == 0, value 16-byte aligned): each
// point's bilinear setup (location loads, floor, corner indices) is shared by four channels
// instead of being redone per channel, and each corner is one 16-byte load. The sums run in the
// same order as forward_kernel's.
__global__ void forward_kernel_vec4(const float* __restrict__ value,
                                    const int64_t* __restrict__ shapes,
                                    const int64_t* __restrict__ starts,
                                    const float* __restrict__ loc, const float* __restrict__ attn,
                                    float4* __restrict__ out, int64_t B, int64_t S, int64_t M,
                                    int64_t D, int64_t L, int64_t Q, int64_t P) {
  const int64_t D4 = D / 4;
  const int64_t total = B * Q * M * D4;
  const int64_t row = M * D4;  // float4s between two spatial positions of one head
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t d4 = i % D4;
    const int64_t bqm = i / D4;
    const int64_t m = bqm % M;
    const int64_t b = bqm / (Q * M);
    const float4* vbase = reinterpret_cast<const float4*>(value + b * S * M * D + m * D) + d4;
    const float* lp = loc + bqm * L * P * 2;
    const float* ap = attn + bqm * L * P;
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
    for (int64_t l = 0; l < L; ++l) {
      const int64_t H = shapes[2 * l], W = shapes[2 * l + 1], start = starts[l];
      for (int64_t p = 0; p < P; ++p, lp += 2, ++ap) {
        const Sample<float> s = make_sample(lp[0], lp[1], H, W, start);
        if (!s.any) continue;
        float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          if (s.idx[c] < 0) continue;
          const float4 corner = __ldg(vbase + s.idx[c] * row);
          v.x += s.w[c] * corner.x;
          v.y += s.w[c] * corner.y;
          v.z += s.w[c] * corner.z;
          v.w += s.w[c] * corner.w;
        }
        const float a = *ap;
        acc.x += a * v.x;
        acc.y += a * v.y;
        acc.z += a * v.z;
        acc.w += a * v.w;
      }
    }
    out[i] = acc;
  }
}

// Sum of `v` over each aligned group of `width` lanes (a power of two <= 32), left in the group's
// first lane. Every lane of the warp must call it together.
template <typename scalar_t>
__device__ __forceinline__ scalar_t group_sum(scalar_t v, int width) {
  for (int offset = width / 2; offset > 0; offset /= 2) {
    v += __shfl_down_sync(0xffffffffu, v, offset, width);
  }
  return v;
}

// reduce_width > 0: the D channel threads of a head are reduce_width-lane groups of a warp
// (D divides 32, or 32 divides D), so the per-point location/weight grads are summed with warp
// shuffles and each group's first lane adds the sum: one atomic per group instead of one per
// channel, all on one address. The loop then runs whole warps (the shuffles need every lane),
// with lanes past the end computing zeros. reduce_width == 0: one atomic per channel thread.
// Everything but value is in acc_t (float for the half types).
template <typename scalar_t>
__global__ void backward_kernel(const at::opmath_type<scalar_t>* __restrict__ grad_out,
                                const scalar_t* __restrict__ value,
                                const int64_t* __restrict__ shapes,
                                const int64_t* __restrict__ starts,
                                const at::opmath_type<scalar_t>* __restrict__ loc,
                                const at::opmath_type<scalar_t>* __restrict__ attn,
                                at::opmath_type<scalar_t>* __restrict__ grad_value,
                                at::opmath_type<scalar_t>* __restrict__ grad_loc,
                                at::opmath_type<scalar_t>* __restrict__ grad_attn, int64_t B,
                                int64_t S, int64_t M, int64_t D, int64_t L, int64_t Q, int64_t P,
                                int reduce_width) {
  using acc_t = at::opmath_type<scalar_t>;  // scalar_t itself for float and double
  const int64_t total = B * Q * M * D;
  const int64_t padded = reduce_width > 0 ? (total + 31) / 32 * 32 : total;
  const bool leader = reduce_width > 0 ? (threadIdx.x % reduce_width) == 0 : true;
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < padded;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const bool valid = j < total;
    const int64_t i = valid ? j : total - 1;  // padding lanes read in bounds, write nothing
    const int64_t d = i % D;
    const int64_t bqm = i / D;
    const int64_t m = bqm % M;
    const int64_t b = bqm / (Q * M);
    const int64_t offset = b * S * M * D + m * D + d;
    const acc_t g = valid ? grad_out[i] : acc_t(0);
    const acc_t* lp = loc + bqm * L * P * 2;
    const acc_t* ap = attn + bqm * L * P;
    acc_t* glp = grad_loc + bqm * L * P * 2;
    acc_t* gap = grad_attn + bqm * L * P;
    for (int64_t l = 0; l < L; ++l) {
      const int64_t H = shapes[2 * l], W = shapes[2 * l + 1], start = starts[l];
      for (int64_t p = 0; p < P; ++p, lp += 2, glp += 2, ++ap, ++gap) {
        const Sample<acc_t> s = make_sample(lp[0], lp[1], H, W, start);
        acc_t ga = 0, gx = 0, gy = 0;
        if (s.any) {
          const acc_t a = *ap;
          acc_t dots[4] = {0, 0, 0, 0};
#pragma unroll
          for (int c = 0; c < 4; ++c) {
            if (s.idx[c] < 0) continue;
            const int64_t pos = offset + s.idx[c] * M * D;
            dots[c] = g * static_cast<acc_t>(value[pos]);
            if (valid) atomicAdd(grad_value + pos, a * s.w[c] * g);
          }
          ga = s.w[0] * dots[0] + s.w[1] * dots[1] + s.w[2] * dots[2] + s.w[3] * dots[3];
          gx = a * (s.hy * (dots[1] - dots[0]) + s.ly * (dots[3] - dots[2])) *
               static_cast<acc_t>(W);
          gy = a * (s.hx * (dots[2] - dots[0]) + s.lx * (dots[3] - dots[1])) *
               static_cast<acc_t>(H);
        }
        if (reduce_width > 0) {  // outside the branch: every lane takes part in the shuffles
          ga = group_sum(ga, reduce_width);
          gx = group_sum(gx, reduce_width);
          gy = group_sum(gy, reduce_width);
        }
        if (valid && leader && s.any) {
          atomicAdd(gap, ga);
          atomicAdd(glp, gx);
          atomicAdd(glp + 1, gy);
        }
      }
    }
  }
}

// The lane-group width for the shuffle reduction over a head's D channels, or 0 for plain atomics.
int reduce_width_for(int64_t D) {
  if (D >= 32) return D % 32 == 0 ? 32 : 0;
  return 32 % D == 0 ? static_cast<int>(D) : 0;
}

int blocks_for(int64_t total) {
  const int64_t blocks = (total + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 65535 * 16 ? (blocks > 0 ? blocks : 1) : 65535 * 16);
}

void check_launch() {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) {
    // One C string, not TORCH_CHECK's several message parts (see the CPU source's level check).
    char message[256];
    std::snprintf(message, sizeof(message), "ms_deform_attn (CUDA) launch failed: %s",
                  cudaGetErrorString(err));
    TORCH_CHECK(false, static_cast<const char*>(message));
  }
}

void check(const at::Tensor& value, const at::Tensor& shapes, const at::Tensor& starts,
           const at::Tensor& loc, const at::Tensor& attn) {
  TORCH_CHECK(value.is_cuda() && shapes.is_cuda() && starts.is_cuda() && loc.is_cuda() &&
                  attn.is_cuda(),
              "ms_deform_attn (CUDA): all inputs must be CUDA tensors");
  TORCH_CHECK(value.dim() == 4 && loc.dim() == 6 && attn.dim() == 5 && shapes.dim() == 2,
              "ms_deform_attn (CUDA): bad input ranks");
  TORCH_CHECK(shapes.scalar_type() == at::kLong && starts.scalar_type() == at::kLong,
              "spatial_shapes and level_start_index must be int64");
  const auto dtype = value.scalar_type();
  const bool half = dtype == at::kHalf || dtype == at::kBFloat16;
  const auto accepted = [&](at::ScalarType t) { return t == dtype || (half && t == at::kFloat); };
  TORCH_CHECK(accepted(loc.scalar_type()) && accepted(attn.scalar_type()),
              "value, sampling_locations and attention_weights must share a dtype (with a "
              "float16 or bfloat16 value, float32 locations and weights are accepted too)");
  // Shapes only: the kernels index loc and attn with value's B, M and spatial_shapes' L. The
  // level sizes themselves live on the GPU; checking them would cost a device-to-host copy.
  TORCH_CHECK(loc.size(5) == 2 && shapes.size(1) == 2 && starts.numel() == shapes.size(0),
              "ms_deform_attn (CUDA): sampling_locations must be [B, Q, M, L, P, 2], "
              "spatial_shapes [L, 2] and level_start_index [L]");
  TORCH_CHECK(loc.size(0) == value.size(0) && loc.size(2) == value.size(2) &&
                  loc.size(3) == shapes.size(0),
              "sampling_locations shape does not match value/spatial_shapes");
  TORCH_CHECK(attn.size(0) == loc.size(0) && attn.size(1) == loc.size(1) &&
                  attn.size(2) == loc.size(2) && attn.size(3) == loc.size(3) &&
                  attn.size(4) == loc.size(4),
              "attention_weights shape does not match sampling_locations");
}

at::Tensor ms_deform_attn_forward(const at::Tensor& value, const at::Tensor& spatial_shapes,
                                  const at::Tensor& level_start_index, const at::Tensor& loc,
                                  const at::Tensor& attn, int64_t stream_handle) {
  check(value, spatial_shapes, level_start_index, loc, attn);
  const c10::DeviceGuard guard(value.device());
  auto v = value.contiguous();
  auto s = spatial_shapes.contiguous();
  auto st = level_start_index.contiguous();
  const int64_t B = v.size(0), S = v.size(1), M = v.size(2), D = v.size(3);
  const int64_t L = s.size(0), Q = loc.size(1), P = loc.size(4);
  auto out = at::empty({B, Q, M * D}, v.options());
  const int64_t total = B * Q * M * D;
  if (total == 0) return out;
  const auto stream = reinterpret_cast<cudaStream_t>(stream_handle);
  const bool vec4 = v.scalar_type() == at::kFloat && D % 4 == 0 &&
                    reinterpret_cast<std::uintptr_t>(v.data_ptr()) % 16 == 0 &&
                    reinterpret_cast<std::uintptr_t>(out.data_ptr()) % 16 == 0;
  if (vec4) {  // float32 value: check() made locations and weights float32 too
    auto lc = loc.contiguous();
    auto a = attn.contiguous();
    forward_kernel_vec4<<<blocks_for(total / 4), kThreads, 0, stream>>>(
        v.data_ptr<float>(), s.data_ptr<int64_t>(), st.data_ptr<int64_t>(), lc.data_ptr<float>(),
        a.data_ptr<float>(), reinterpret_cast<float4*>(out.data_ptr<float>()), B, S, M, D, L, Q,
        P);
    check_launch();
    return out;
  }
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, v.scalar_type(),
                                  "ms_deform_attn_forward_cuda", [&] {
    // locations and weights in acc_t (for float and double, .to() returns them as they are);
    // the copies are freed after the launch, which the caching allocator orders on this stream
    using acc_t = at::opmath_type<scalar_t>;
    const auto acc_type = c10::CppTypeToScalarType<acc_t>::value;
    auto lc = loc.to(acc_type).contiguous();
    auto a = attn.to(acc_type).contiguous();
    forward_kernel<scalar_t><<<blocks_for(total), kThreads, 0, stream>>>(
        v.data_ptr<scalar_t>(), s.data_ptr<int64_t>(), st.data_ptr<int64_t>(),
        lc.data_ptr<acc_t>(), a.data_ptr<acc_t>(), out.data_ptr<scalar_t>(), B, S, M, D, L, Q,
        P);
  });
  check_launch();
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> ms_deform_attn_backward(
    const at::Tensor& grad_output, const at::Tensor& value, const at::Tensor& spatial_shapes,
    const at::Tensor& level_start_index, const at::Tensor& loc, const at::Tensor& attn,
    int64_t stream_handle) {
  check(value, spatial_shapes, level_start_index, loc, attn);
  TORCH_CHECK(grad_output.numel() == value.size(0) * loc.size(1) * value.size(2) * value.size(3),
              "grad_output has the wrong size");
  const c10::DeviceGuard guard(value.device());
  auto v = value.contiguous();
  auto s = spatial_shapes.contiguous();
  auto st = level_start_index.contiguous();
  const int64_t B = v.size(0), S = v.size(1), M = v.size(2), D = v.size(3);
  const int64_t L = s.size(0), Q = loc.size(1), P = loc.size(4);
  const int64_t total = B * Q * M * D;
  const auto stream = reinterpret_cast<cudaStream_t>(stream_handle);
  at::Tensor grad_value, grad_loc, grad_attn;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, v.scalar_type(),
                                  "ms_deform_attn_backward_cuda", [&] {
    // everything but value in acc_t: for float and double the tensors themselves (the .to()
    // calls return them as they are), for the half types float32 copies and buffers; each
    // gradient is then returned in its input's dtype
    using acc_t = at::opmath_type<scalar_t>;
    const auto acc_type = c10::CppTypeToScalarType<acc_t>::value;
    const auto acc_options = v.options().dtype(acc_type);
    auto g = grad_output.to(acc_type).contiguous();
    auto lc = loc.to(acc_type).contiguous();
    auto a = attn.to(acc_type).contiguous();
    auto grad_value_acc = at::zeros_like(v, acc_options);
    auto grad_loc_acc = at::zeros_like(lc);
    auto grad_attn_acc = at::zeros_like(a);
    if (total > 0) {
      backward_kernel<scalar_t><<<blocks_for(total), kThreads, 0, stream>>>(
          g.data_ptr<acc_t>(), v.data_ptr<scalar_t>(), s.data_ptr<int64_t>(),
          st.data_ptr<int64_t>(), lc.data_ptr<acc_t>(), a.data_ptr<acc_t>(),
          grad_value_acc.data_ptr<acc_t>(), grad_loc_acc.data_ptr<acc_t>(),
          grad_attn_acc.data_ptr<acc_t>(), B, S, M, D, L, Q, P, reduce_width_for(D));
      check_launch();
    }
    grad_value = grad_value_acc.to(v.scalar_type());
    grad_loc = grad_loc_acc.to(loc.scalar_type());
    grad_attn = grad_attn_acc.to(attn.scalar_type());
  });
  return {grad_value, grad_loc, grad_attn};
}

}  // namespace

TORCH_LIBRARY(vis_bench_msda_cuda, m) {
  m.def(
      "forward(Tensor value, Tensor spatial_shapes, Tensor level_start_index, "
      "Tensor sampling_locations, Tensor attention_weights, int stream) -> Tensor");
  m.def(
      "backward(Tensor grad_output, Tensor value, Tensor spatial_shapes, "
      "Tensor level_start_index, Tensor sampling_locations, Tensor attention_weights, "
      "int stream) -> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(vis_bench_msda_cuda, CUDA, m) {
  m.impl("forward", &ms_deform_attn_forward);
  m.impl("backward", &ms_deform_attn_backward);
}
