// Hand-computed and independently computed checks of the reference kernels, one small
// case per behaviour (the ONNX conformance sweep is in test_conformance.cc).
#include "tests/reference/test_util.h"

using namespace reftest;
using cardsim::Error;
using cardsim::ErrorKind;

// ---- convolution -----------------------------------------------------------------------

TEST(RefConv, ThreeByThreeByHand) {
  // x = 1..16 (4x4), all-ones 3x3 kernel, no padding: each output is a 3x3 window sum.
  Tensor y = run1(node("Conv"), {iota({1, 1, 4, 4}, 1), F({1, 1, 3, 3}, std::vector<float>(9, 1.f))});
  expect_values(y, {1, 1, 2, 2}, {54, 63, 90, 99});
}

TEST(RefConv, PaddingAndBiasByHand) {
  // 2x2 input of ones, 3x3 ones kernel, pad 1: each output counts the input pixels it sees.
  Tensor y = run1(node("Conv", {{"pads", ais({1, 1, 1, 1})}}),
                  {F({1, 1, 2, 2}, {1, 1, 1, 1}), F({1, 1, 3, 3}, std::vector<float>(9, 1.f)), F({1}, {10})});
  expect_values(y, {1, 1, 2, 2}, {14, 14, 14, 14});
}

// Direct 2-D convolution, the textbook loop, as an independent reference.
static Tensor naive_conv2d(const Tensor& x, const Tensor& w, int64_t group, std::array<int64_t, 2> s,
                           std::array<int64_t, 4> p, std::array<int64_t, 2> d) {
  int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  int64_t M = w.shape[0], CG = w.shape[1], KH = w.shape[2], KW = w.shape[3];
  int64_t OH = (H + p[0] + p[2] - ((KH - 1) * d[0] + 1)) / s[0] + 1;
  int64_t OW = (W + p[1] + p[3] - ((KW - 1) * d[1] + 1)) / s[1] + 1;
  Tensor y(DType::F32, {N, M, OH, OW});
  int64_t MG = M / group;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = 0;
          for (int64_t c = 0; c < CG; ++c)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t ih = oh * s[0] - p[0] + kh * d[0], iw = ow * s[1] - p[1] + kw * d[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                int64_t ci = (m / MG) * CG + c;
                acc += x.get(size_t(((n * C + ci) * H + ih) * W + iw)) * w.get(size_t(((m * CG + c) * KH + kh) * KW + kw));
              }
          y.set(size_t(((n * M + m) * OH + oh) * OW + ow), acc);
        }
  return y;
}

TEST(RefConv, StridesPadsDilationsGroupsMatchDirectLoop) {
  struct Case { int64_t C, M, group, H, W, K; std::array<int64_t, 2> s; std::array<int64_t, 4> p; std::array<int64_t, 2> d; };
  for (const Case& c : {Case{3, 4, 1, 7, 6, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}},
                        Case{4, 6, 2, 9, 8, 3, {2, 1}, {0, 1, 2, 0}, {1, 2}},
                        Case{8, 8, 8, 10, 10, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}},   // depthwise
                        Case{5, 7, 1, 6, 6, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}}}) {  // pointwise
    Tensor x = rnd({2, c.C, c.H, c.W}, uint32_t(c.C * 7 + c.H));
    Tensor w = rnd({c.M, c.C / c.group, c.K, c.K}, uint32_t(c.M * 3 + c.K));
    Tensor y = run1(node("Conv", {{"group", ai(c.group)}, {"strides", ais({c.s[0], c.s[1]})},
                                  {"pads", ais({c.p[0], c.p[1], c.p[2], c.p[3]})}, {"dilations", ais({c.d[0], c.d[1]})}}),
                    {x, w});
    expect_close(y, naive_conv2d(x, w, c.group, c.s, c.p, c.d), 1e-4);
  }
}

TEST(RefConv, AutoPadSameUpperAndLower) {
  // 1-D: x = [1,2,3,4], kernel [1,1] stride 1: SAME pads 1 total; UPPER pads at the end.
  Tensor x = F({1, 1, 4}, {1, 2, 3, 4}), w = F({1, 1, 2}, {1, 1});
  expect_values(run1(node("Conv", {{"auto_pad", as("SAME_UPPER")}}), {x, w}), {1, 1, 4}, {3, 5, 7, 4});
  expect_values(run1(node("Conv", {{"auto_pad", as("SAME_LOWER")}}), {x, w}), {1, 1, 4}, {1, 3, 5, 7});
}

TEST(RefConv, ConvTranspose1dByHand) {
  // x = [1,2], w = [1,1,1], stride 2: y[2i+k] += x[i] -> [1,1,1+2,2,2].
  Tensor x = F({1, 1, 2}, {1, 2}), w = F({1, 1, 3}, {1, 1, 1});
  expect_values(run1(node("ConvTranspose", {{"strides", ais({2})}}), {x, w}), {1, 1, 5}, {1, 1, 3, 2, 2});
  // pads crop the full output; output_padding extends it with a zero-contribution column.
  expect_values(run1(node("ConvTranspose", {{"strides", ais({2})}, {"pads", ais({1, 1})}}), {x, w}), {1, 1, 3}, {1, 3, 2});
  expect_values(run1(node("ConvTranspose", {{"strides", ais({2})}, {"output_padding", ais({1})}}), {x, w}), {1, 1, 6},
                {1, 1, 3, 2, 2, 0});
}

TEST(RefConv, ConvIntegerSubtractsZeroPoints) {
  Tensor x = typed(DType::U8, {1, 1, 2, 2}, {10, 11, 12, 13});
  Tensor w = typed(DType::U8, {1, 1, 1, 1}, {3});
  Tensor y = run1(node("ConvInteger"), {x, w, typed(DType::U8, {}, {10}), typed(DType::U8, {}, {1})});
  EXPECT_EQ(y.dtype, DType::I32);
  expect_values(y, {1, 1, 2, 2}, {0, 2, 4, 6});
}

// ---- matrix products -----------------------------------------------------------------------

TEST(RefGemm, TransposesAlphaBetaAndBroadcastC) {
  // A^T = [[1,2],[3,4]], B^T = [[1,0],[0,1]] -> A^T B^T = [[1,2],[3,4]]; *2 + 10*[1,2] (row broadcast)
  Tensor a = F({2, 2}, {1, 3, 2, 4}), b = F({2, 2}, {1, 0, 0, 1}), c = F({2}, {1, 2});
  Tensor y = run1(node("Gemm", {{"transA", ai(1)}, {"transB", ai(1)}, {"alpha", af(2)}, {"beta", af(10)}}), {a, b, c});
  expect_values(y, {2, 2}, {12, 24, 16, 28});
}

TEST(RefMatMul, BroadcastBatchAndVectors) {
  Tensor a = rnd({2, 1, 3, 4}, 1), b = rnd({3, 4, 5}, 2);
  Tensor y = run1(node("MatMul"), {a, b});
  ASSERT_EQ(y.shape, (Shape{2, 3, 3, 5}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t m = 0; m < 3; ++m)
        for (int64_t n = 0; n < 5; ++n) {
          double acc = 0;
          for (int64_t k = 0; k < 4; ++k) acc += a.get(size_t((i * 3 + m) * 4 + k)) * b.get(size_t((j * 4 + k) * 5 + n));
          EXPECT_NEAR(y.get(size_t(((i * 3 + j) * 3 + m) * 5 + n)), acc, 1e-5);
        }
  // 1-D x 2-D: the vector's dimension is removed again.
  expect_values(run1(node("MatMul"), {F({2}, {1, 2}), F({2, 2}, {1, 2, 3, 4})}), {2}, {7, 10});
}

TEST(RefMatMul, IntegerAndQLinear) {
  Tensor a = typed(DType::U8, {2, 2}, {1, 2, 3, 4}), b = typed(DType::U8, {2, 2}, {5, 6, 7, 8});
  // (a-1) x (b-5) = [[0,1],[2,3]] x [[0,1],[2,3]] = [[2,3],[6,11]]
  Tensor y = run1(node("MatMulInteger"), {a, b, typed(DType::U8, {}, {1}), typed(DType::U8, {}, {5})});
  EXPECT_EQ(y.dtype, DType::I32);
  expect_values(y, {2, 2}, {2, 3, 6, 11});
  // QLinearMatMul: scales 0.5*1/0.25 = 2 -> [[4,6],[12,22]] + zp 100.
  Tensor q = run1(node("QLinearMatMul"), {a, F({}, {0.5f}), typed(DType::U8, {}, {1}), b, F({}, {1.f}),
                                          typed(DType::U8, {}, {5}), F({}, {0.25f}), typed(DType::U8, {}, {100})});
  EXPECT_EQ(q.dtype, DType::U8);
  expect_values(q, {2, 2}, {104, 106, 112, 122});
}

TEST(RefMatMul, EinsumAgreesWithMatMulAndTranspose) {
  Tensor q = rnd({2, 3, 4, 5}, 11), k = rnd({2, 3, 6, 5}, 12);
  Tensor kt = run1(node("Transpose", {{"perm", ais({0, 1, 3, 2})}}), {k});
  Tensor want = run1(node("MatMul"), {q, kt});
  expect_close(run1(node("Einsum", {{"equation", as("bhqd, bhkd -> bhqk")}}), {q, k}), want, 1e-5);
  expect_close(run1(node("Einsum", {{"equation", as("...qd,...kd->...qk")}}), {q, k}), want, 1e-5);
  // Implicit output (labels appearing once, sorted) and a diagonal.
  expect_values(run1(node("Einsum", {{"equation", as("ii")}}), {F({2, 2}, {1, 2, 3, 4})}), {}, {5});
  expect_values(run1(node("Einsum", {{"equation", as("ij,jk")}}), {F({1, 2}, {1, 2}), F({2, 1}, {3, 4})}), {1, 1}, {11});
}

// ---- quantization -----------------------------------------------------------------------------

TEST(RefQuant, QuantizeRoundsHalfToEvenAndSaturates) {
  Tensor x = F({6}, {0.5f, 1.5f, 2.5f, -0.5f, 300.f, -3.f});
  expect_values(run1(node("QuantizeLinear"), {x, F({}, {1.f}), typed(DType::U8, {}, {0})}), {6}, {0, 2, 2, 0, 255, 0});
  expect_values(run1(node("QuantizeLinear"), {x, F({}, {1.f}), typed(DType::I8, {}, {0})}), {6}, {0, 2, 2, 0, 127, -3});
}

TEST(RefQuant, PerAxisDequantize) {
  Tensor x = typed(DType::I8, {2, 2}, {1, 2, 3, 4});
  // axis 0: row scales 1 and 10, zero points 0 and 1.
  Tensor y = run1(node("DequantizeLinear", {{"axis", ai(0)}}), {x, F({2}, {1, 10}), typed(DType::I8, {2}, {0, 1})});
  expect_values(y, {2, 2}, {1, 2, 20, 30});
}

// ---- elementwise ---------------------------------------------------------------------------

TEST(RefElementwise, NumpyBroadcasting) {
  // [2,1,3] + [4,1] -> [2,4,3], y[i,j,k] = a[i,0,k] + b[j,0]
  Tensor a = iota({2, 1, 3}), b = iota({4, 1}, 100, 10);
  Tensor y = run1(node("Add"), {a, b});
  ASSERT_EQ(y.shape, (Shape{2, 4, 3}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t k = 0; k < 3; ++k) EXPECT_EQ(y.get(size_t((i * 4 + j) * 3 + k)), double(i * 3 + k + 100 + 10 * j));
  EXPECT_THROW(run1(node("Add"), {iota({2, 3}), iota({4})}), Error);
  // Both sides broadcast, in different dims: [2,1,4,1] * [3,1,5] -> [2,3,4,5].
  Tensor c = iota({2, 1, 4, 1}, 1), d = iota({3, 1, 5}, 1);
  Tensor z = run1(node("Mul"), {c, d});
  ASSERT_EQ(z.shape, (Shape{2, 3, 4, 5}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 4; ++k)
        for (int64_t l = 0; l < 5; ++l)
          EXPECT_EQ(z.get(size_t(((i * 3 + j) * 4 + k) * 5 + l)), double((i * 4 + k + 1) * (j * 5 + l + 1)));
  expect_values(run1(node("Sub"), {F({}, {10}), F({3}, {1, 2, 3})}), {3}, {9, 8, 7});
}

TEST(RefElementwise, IntegerArithmeticIsExactAndWraps) {
  Tensor a = I64({2}, {int64_t(1) << 60, 7}), b = I64({2}, {3, -2});
  expect_values(run1(node("Add"), {a, b}), {2}, {double((int64_t(1) << 60) + 3), 5});
  EXPECT_EQ(run1(node("Add"), {a, b}).ptr<int64_t>()[0], (int64_t(1) << 60) + 3);
  expect_values(run1(node("Div"), {a, b}), {2}, {double((int64_t(1) << 60) / 3), -3});  // truncation
  expect_values(run1(node("Add"), {typed(DType::U8, {1}, {250}), typed(DType::U8, {1}, {10})}), {1}, {4});
  expect_values(run1(node("Mod"), {I64({2}, {-7, 7}), I64({2}, {3, -3})}), {2}, {2, -2});  // sign of divisor
}

TEST(RefElementwise, ClipInputsVersusAttributes) {
  Tensor x = F({4}, {-2, -0.5f, 0.5f, 2});
  expect_values(run1(node("Clip"), {x, F({}, {-1}), F({}, {1})}), {4}, {-1, -0.5, 0.5, 1});
  expect_values(run1(node("Clip"), {x, none(), F({}, {0})}), {4}, {-2, -0.5, 0, 0});
  expect_values(run1(node("Clip", {{"min", af(0)}}, 6), {x}), {4}, {0, 0, 0.5, 2});
}

TEST(RefElementwise, ActivationsByHand) {
  Tensor x = F({3}, {-2, 0, 3});
  expect_values(run1(node("LeakyRelu"), {x}), {3}, {-0.02, 0, 3});
  expect_values(run1(node("HardSigmoid"), {x}), {3}, {0.1, 0.5, 1});
  expect_values(run1(node("HardSwish"), {x}), {3}, {-2 * (1.0 / 6), 0, 3});
  expect_values(run1(node("Sigmoid"), {x}), {3}, {1 / (1 + std::exp(2.0)), 0.5, 1 / (1 + std::exp(-3.0))});
  expect_values(run1(node("PRelu"), {x, F({1}, {0.25f})}), {3}, {-0.5, 0, 3});
}

TEST(RefElementwise, WhereAndComparisons) {
  Tensor c = run1(node("Greater"), {F({3}, {1, 5, 3}), F({}, {2})});
  EXPECT_EQ(c.dtype, DType::Bool);
  expect_values(c, {3}, {0, 1, 1});
  expect_values(run1(node("Where"), {c, F({3}, {10, 20, 30}), F({1}, {-1})}), {3}, {-1, 20, 30});
}

TEST(RefElementwise, CastTruncatesAndRoundsToHalf) {
  Tensor x = F({4}, {1.7f, -1.7f, 2.5f, 65519.f});
  expect_values(run1(node("Cast", {{"to", ai(int64_t(DType::I32))}}), {x}), {4}, {1, -1, 2, 65519});
  Tensor h = run1(node("Cast", {{"to", ai(int64_t(DType::F16))}}), {F({2}, {1.0f + 1.0f / 2048, 65519.f})});
  expect_values(h, {2}, {1.0, 65504});  // 1+2^-11 is a tie -> even (1.0); 65519 rounds down to max half
}

TEST(RefElementwise, VariadicMeanAndMax) {
  expect_values(run1(node("Mean"), {F({2}, {1, 2}), F({2}, {3, 4}), F({1}, {5})}), {2}, {3, 11.0 / 3});
  expect_values(run1(node("Max"), {F({2}, {1, 9}), F({2}, {3, 4})}), {2}, {3, 9});
}

// ---- softmax / normalization / pooling --------------------------------------------------------

TEST(RefSoftmax, LegacyAxisFlattensWhileOpset13IsPerAxis) {
  Tensor x = F({1, 2, 2}, {0, 0, 0, 0});
  expect_values(run1(node("Softmax", {{"axis", ai(1)}}, 11), {x}), {1, 2, 2}, {0.25, 0.25, 0.25, 0.25});
  expect_values(run1(node("Softmax", {{"axis", ai(1)}}, 13), {x}), {1, 2, 2}, {0.5, 0.5, 0.5, 0.5});
  expect_values(run1(node("LogSoftmax"), {F({2}, {0, 0})}), {2}, {-std::log(2.0), -std::log(2.0)});
}

TEST(RefNorm, BatchAndLayerNormalizationByHand) {
  // BN: (x - mean)/sqrt(var + eps) * scale + b with var 4, eps 0.
  Tensor y = run1(node("BatchNormalization", {{"epsilon", af(0)}}),
                  {F({1, 1, 2}, {3, 7}), F({1}, {2}), F({1}, {1}), F({1}, {5}), F({1}, {4})});
  expect_values(y, {1, 1, 2}, {-1, 3});
  // LayerNorm over the last axis: [1,3] -> mean 2, var 1, normalized [-1, 1].
  Tensor ln = run1(node("LayerNormalization", {{"epsilon", af(0)}}), {F({1, 2}, {1, 3}), F({2}, {1, 2}), F({2}, {0, 1})});
  expect_values(ln, {1, 2}, {-1, 3});
}

TEST(RefPool, MaxPoolCeilModeAndIndices) {
  // 1x1x3x3, kernel 2 stride 2 ceil: windows at rows/cols {0,1} and {2}.
  Tensor x = iota({1, 1, 3, 3});
  auto out = run(node("MaxPool", {{"kernel_shape", ais({2, 2})}, {"strides", ais({2, 2})}, {"ceil_mode", ai(1)}}, 12, 2), {x});
  expect_values(out[0], {1, 1, 2, 2}, {4, 5, 7, 8});
  expect_values(out[1], {1, 1, 2, 2}, {4, 5, 7, 8});  // value == flat index for iota
}

TEST(RefPool, AveragePoolCountIncludePad) {
  Tensor x = F({1, 1, 2}, {2, 4});
  // kernel 2, pad 1 each side: windows [pad,2], [2,4], [4,pad].
  expect_values(run1(node("AveragePool", {{"kernel_shape", ais({2})}, {"pads", ais({1, 1})}}), {x}), {1, 1, 3}, {2, 3, 4});
  expect_values(run1(node("AveragePool", {{"kernel_shape", ais({2})}, {"pads", ais({1, 1})}, {"count_include_pad", ai(1)}}), {x}),
                {1, 1, 3}, {1, 3, 2});
}

TEST(RefReduce, AxesAttributeVersusInput) {
  Tensor x = iota({2, 3});
  expect_values(run1(node("ReduceMean", {{"axes", ais({1})}, {"keepdims", ai(0)}}, 13), {x}), {2}, {1, 4});
  expect_values(run1(node("ReduceSum", {}, 13), {x, I64({1}, {0})}), {1, 3}, {3, 5, 7});
  expect_values(run1(node("ReduceSum", {{"noop_with_empty_axes", ai(1)}}, 13), {x, I64({0}, {})}), {2, 3}, {0, 1, 2, 3, 4, 5});
  expect_values(run1(node("ReduceMax", {{"axes", ais({-1})}}, 13), {x}), {2, 1}, {2, 5});
}

// ---- data movement ------------------------------------------------------------------------------

TEST(RefShape, ReshapeZeroMinusOneAndAllowzero) {
  Tensor x = iota({2, 3, 4});
  EXPECT_EQ(run1(node("Reshape"), {x, I64({2}, {0, -1})}).shape, (Shape{2, 12}));
  EXPECT_THROW(run1(node("Reshape", {{"allowzero", ai(1)}}, 14), {x, I64({2}, {0, -1})}), Error);
  EXPECT_EQ(run1(node("Reshape", {{"allowzero", ai(1)}}, 14), {iota({0, 3}), I64({2}, {3, 0})}).shape, (Shape{3, 0}));
}

TEST(RefShape, SliceNegativeSteps) {
  Tensor x = iota({10});
  expect_values(run1(node("Slice"), {x, I64({1}, {-1}), I64({1}, {-100}), I64({1}, {0}), I64({1}, {-3})}), {4}, {9, 6, 3, 0});
  expect_values(run1(node("Slice", {{"starts", ais({2})}, {"ends", ais({1000})}}, 9), {x}), {8}, {2, 3, 4, 5, 6, 7, 8, 9});
}

TEST(RefShape, PadModes) {
  Tensor x = F({3}, {1, 2, 3});
  Tensor pads = I64({2}, {2, 2});
  expect_values(run1(node("Pad", {{"mode", as("reflect")}}), {x, pads}), {7}, {3, 2, 1, 2, 3, 2, 1});
  expect_values(run1(node("Pad", {{"mode", as("edge")}}), {x, pads}), {7}, {1, 1, 1, 2, 3, 3, 3});
  expect_values(run1(node("Pad"), {x, pads, F({}, {9})}), {7}, {9, 9, 1, 2, 3, 9, 9});
  expect_values(run1(node("Pad", {{"pads", ais({1, 0})}, {"value", af(5)}}, 2), {x}), {4}, {5, 1, 2, 3});
}

TEST(RefShape, SplitAttributeVersusInputAndSqueezeUnsqueeze) {
  Tensor x = iota({5});
  auto a = run(node("Split", {{"split", ais({2, 3})}}, 11, 2), {x});
  expect_values(a[1], {3}, {2, 3, 4});
  auto b = run(node("Split", {}, 13, 2), {x, I64({2}, {4, 1})});
  expect_values(b[1], {1}, {4});
  EXPECT_EQ(run1(node("Unsqueeze", {}, 13), {x, I64({2}, {0, -1})}).shape, (Shape{1, 5, 1}));
  EXPECT_EQ(run1(node("Unsqueeze", {{"axes", ais({1})}}, 11), {x}).shape, (Shape{5, 1}));
  EXPECT_EQ(run1(node("Squeeze", {}, 13), {iota({1, 5, 1})}).shape, (Shape{5}));
}

TEST(RefShape, TransposeGatherConcatExpandTile) {
  expect_values(run1(node("Transpose"), {iota({2, 3})}), {3, 2}, {0, 3, 1, 4, 2, 5});
  expect_values(run1(node("Gather", {{"axis", ai(1)}}), {iota({2, 3}), I64({2}, {-1, 0})}), {2, 2}, {2, 0, 5, 3});
  expect_values(run1(node("Concat", {{"axis", ai(-1)}}), {iota({2, 1}), iota({2, 2}, 10)}), {2, 3}, {0, 10, 11, 1, 12, 13});
  expect_values(run1(node("Expand"), {F({2, 1}, {1, 2}), I64({2}, {1, 3})}), {2, 3}, {1, 1, 1, 2, 2, 2});
  expect_values(run1(node("Tile"), {F({2}, {1, 2}), I64({1}, {2})}), {4}, {1, 2, 1, 2});
}

// ---- resize ---------------------------------------------------------------------------------------

TEST(RefResize, CoordinateModesByHand) {
  Tensor x = F({1, 4}, {1, 2, 3, 4});
  Tensor none_t = none(), scales2 = F({2}, {1, 2});
  // half_pixel nearest (round_prefer_floor): x' = (x+0.5)/2-0.5 -> -0.25,0.25,0.75,1.25,... -> 0,0,1,1,...
  expect_values(run1(node("Resize"), {x, none_t, scales2}), {1, 8}, {1, 1, 2, 2, 3, 3, 4, 4});
  // asymmetric + ceil: x' = x/2 -> 0,0.5,1,... ceil -> 0,1,1,2,2,3,3,4(clamped 3)
  expect_values(run1(node("Resize", {{"coordinate_transformation_mode", as("asymmetric")}, {"nearest_mode", as("ceil")}}),
                     {x, none_t, scales2}),
                {1, 8}, {1, 2, 2, 3, 3, 4, 4, 4});
  // align_corners linear 4 -> 7: x' = x/2.
  expect_values(run1(node("Resize", {{"mode", as("linear")}, {"coordinate_transformation_mode", as("align_corners")}}),
                     {x, none_t, none_t, I64({2}, {1, 7})}),
                {1, 7}, {1, 1.5, 2, 2.5, 3, 3.5, 4});
  // half_pixel linear downsample 4 -> 2: x' = 0.5, 2.5.
  expect_values(run1(node("Resize", {{"mode", as("linear")}}), {x, none_t, F({2}, {1, 0.5f})}), {1, 2}, {1.5, 3.5});
  // Upsample (opset 9) nearest is asymmetric + floor: 3x -> 1,1,1,2,2,2
  expect_values(run1(node("Upsample", {}, 9), {F({1, 2}, {1, 2}), F({2}, {1, 3})}), {1, 6}, {1, 1, 1, 2, 2, 2});
}

TEST(RefRnn, TwoStepRnnByHand) {
  // hidden 1, input 1: h1 = tanh(w*x1 + b), h2 = tanh(w*x2 + r*h1 + b); w=1, r=0.5, Wb=0.1, Rb=0.
  Tensor x = F({2, 1, 1}, {1, 2}), w = F({1, 1, 1}, {1}), r = F({1, 1, 1}, {0.5f}), b = F({1, 2}, {0.1f, 0});
  auto out = run(node("RNN", {{"hidden_size", ai(1)}}, 14, 2), {x, w, r, b});
  double h1 = std::tanh(1.1), h2 = std::tanh(2.0 + 0.5 * h1 + 0.1);
  expect_values(out[0], {2, 1, 1, 1}, {h1, h2});
  expect_values(out[1], {1, 1, 1}, {h2});
  // sequence_lens 1 stops after the first step: Y is zero afterwards and Y_h holds h1.
  auto cut = run(node("RNN", {{"hidden_size", ai(1)}}, 14, 2), {x, w, r, b, typed(DType::I32, {1}, {1})});
  expect_values(cut[0], {2, 1, 1, 1}, {h1, 0});
  expect_values(cut[1], {1, 1, 1}, {h1});
}

// ---- errors and graphs ---------------------------------------------------------------------------------

TEST(RefErrors, UnsupportedOpAndAttributeNameTheNode) {
  try {
    run1(node("NoSuchOp", {}, 13), {iota({1})});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("test_NoSuchOp"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("NoSuchOp, opset 13"), std::string::npos) << e.what();
  }
  try {
    run1(node("Resize", {{"coordinate_transformation_mode", as("bogus")}}), {iota({1, 2}), none(), F({2}, {1, 2})});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("coordinate_transformation_mode"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run1(node("Conv"), {iota({1, 2, 3, 3}), iota({1, 3, 1, 1})}), Error);  // channel mismatch
  EXPECT_THROW(run1(node("Gather"), {iota({3}), I64({1}, {3})}), Error);               // index out of range
  try {  // inference BatchNormalization asked for its training outputs
    run1(node("BatchNormalization", {}, 9, 3), {F({1, 1, 1}, {1}), F({1}, {1}), F({1}, {0}), F({1}, {0}), F({1}, {1})});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("output 1"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(cardsim::ref::is_supported("Conv"));
  EXPECT_FALSE(cardsim::ref::is_supported("NoSuchOp"));
}

TEST(RefGraph, RunsNodesInOrderWithConstants) {
  ir::Graph g;
  g.name = "g";
  g.inputs = {"x"};
  g.outputs = {"y"};
  ir::Value c;
  c.name = "c";
  c.constant = F({1}, {2});
  g.values["c"] = c;
  ir::Node mul = node("Mul");
  mul.inputs = {"x", "c"};
  mul.outputs = {"t"};
  ir::Node relu = node("Relu");
  relu.inputs = {"t"};
  relu.outputs = {"y"};
  g.nodes = {mul, relu};
  auto out = cardsim::ref::run_graph(g, {{"x", F({3}, {-1, 0, 2})}});
  expect_values(out.at("y"), {3}, {0, 0, 4});
  EXPECT_THROW(cardsim::ref::run_graph(g, {}), Error);  // missing input
}
