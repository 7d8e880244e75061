// The autograd tape: fan-out accumulation, views, freeing as backward goes, and checkpoints.
#include <catch2/catch.hpp>

#include "backends/cpu/cpu_backend.hpp"
#include "core/tensor/ops.hpp"

using namespace wb;

namespace {
var filled(shape_t s, float v, bool grad) {
  tensor t(std::move(s), mem_category::temporaries);
  t.fill(v);
  return make_var(t, grad);
}
}  // namespace

TEST_CASE("a value used twice receives the sum of both gradients", "[tape]") {
  cpu_backend be(1);
  tape tp(be);
  var x = filled({3}, 2.0f, true), y = filled({3}, 5.0f, true);
  var z = add(tp, mul(tp, x, y), x);  // dz/dx = y + 1
  tensor seed({3}, mem_category::temporaries);
  seed.fill(1);
  tp.backward(z, seed);
  CHECK(x->grad().f32()[1] == 6.0f);
  CHECK(y->grad().f32()[1] == 2.0f);
  CHECK(tp.size() == 0);
}

TEST_CASE("backward through a reshape reaches the original shape", "[tape]") {
  cpu_backend be(1);
  tape tp(be);
  var x = filled({2, 3}, 1.0f, true);
  var r = reshape(tp, x, {3, 2});
  var y = mul(tp, r, r);
  tensor seed({3, 2}, mem_category::temporaries);
  seed.fill(1);
  tp.backward(y, seed);
  REQUIRE(x->grad().shape() == shape_t{2, 3});
  CHECK(x->grad().f32()[4] == 2.0f);
}

TEST_CASE("a non-recording tape keeps no nodes and frees intermediates at once", "[tape]") {
  cpu_backend be(1);
  tape tp(be, false);
  var x = filled({1000}, 1.0f, true);
  memory().reset_peaks();
  auto base = memory().category(mem_category::activations).live;
  var y = gelu(tp, x);
  y = gelu(tp, y);  // the old y is freed once replaced: at most two buffers live
  y = gelu(tp, y);
  CHECK(tp.size() == 0);
  CHECK_FALSE(y->requires_grad());
  CHECK(memory().category(mem_category::activations).live == base + 4000);
  CHECK(memory().category(mem_category::activations).peak == base + 8000);
}

TEST_CASE("a checkpointed block gives bit-identical values and gradients", "[tape][recompute]") {
  cpu_backend be(2);
  var w = filled({4, 4}, 0.3f, true);
  for (int i = 0; i < 16; ++i) w->data.f32()[i] = 0.1f * float(i % 5) - 0.2f;
  block_fn block = [&](tape& t, const var& x) { return gelu(t, matmul(t, x, w, false, true)); };
  auto run = [&](bool ckpt) {
    tape tp(be);
    var x = filled({3, 4}, 0.7f, true);
    x->data.f32()[2] = -1.3f;
    w->grad() = tensor::zeros({4, 4}, mem_category::temporaries);
    var y = ckpt ? checkpoint(tp, block, checkpoint(tp, block, x)) : block(tp, block(tp, x));
    var l = cross_entropy(tp, y, make_var([] {
                            tensor t({3}, mem_category::temporaries, dtype::i32);
                            t.i32()[0] = 1, t.i32()[1] = 3, t.i32()[2] = 0;
                            return t;
                          }()));
    tp.backward(l);
    std::vector<float> out{l->data.f32()[0]};
    for (int i = 0; i < 12; ++i) out.push_back(x->grad().f32()[i]);
    for (int i = 0; i < 16; ++i) out.push_back(w->grad().f32()[i]);
    return out;
  };
  auto plain = run(false), ckpt = run(true);
  CHECK(plain == ckpt);
  CHECK(plain[13] != 0.0f);
}

// Megatron-LM's sequence-parallel linears keep their input's block and gather it again in backward;
// the tape's part: readers of a rebuilt input stop keeping it, and backward hands them a fresh copy.
TEST_CASE("an input rebuilt in backward is freed after forward and gives the same gradients", "[tape][rebuild]") {
  cpu_backend be(1);
  tensor xs({64, 32}, mem_category::temporaries), ws({16, 32}, mem_category::temporaries);
  for (int64_t i = 0; i < xs.numel(); ++i) xs.f32()[i] = float(i % 7) * 0.25f - 0.5f;
  for (int64_t i = 0; i < ws.numel(); ++i) ws.f32()[i] = float(i % 5) * 0.125f - 0.25f;
  auto run = [&](bool rebuild, int& rebuilds, size_t& live_after_forward) {
    var w1 = make_var(ws.clone(mem_category::temporaries), true), w2 = make_var(ws.clone(mem_category::temporaries), true);
    tape tp(be);
    var x = make_var(xs.clone(mem_category::activations), true);
    var h = mul(tp, x, x);  // the input the two products read (activations)
    if (rebuild)
      tp.rebuild_in_backward(h, [&] {
        ++rebuilds;
        tensor again = xs.clone(mem_category::temporaries);
        for (int64_t i = 0; i < again.numel(); ++i) again.f32()[i] *= again.f32()[i];
        return again;
      });
    var y = add(tp, matmul(tp, h, w1, false, true), matmul(tp, h, w2, false, true));  // (64, 16)
    tp.mark_layer(0, false);  // the readers are found here
    h.reset();
    live_after_forward = memory().category(mem_category::activations).live;
    tensor seed(y->data.shape(), mem_category::temporaries);
    seed.fill(1);
    tp.backward(y, seed);
    std::vector<float> grads(w1->grad().f32(), w1->grad().f32() + w1->grad().numel());
    grads.insert(grads.end(), x->grad().f32(), x->grad().f32() + x->grad().numel());
    return grads;
  };
  int kept_rebuilds = 0, rebuilds = 0;
  size_t kept_live = 0, rebuilt_live = 0;
  auto kept = run(false, kept_rebuilds, kept_live);
  auto rebuilt = run(true, rebuilds, rebuilt_live);
  CHECK(rebuilt == kept);       // bit-identical: the rebuilt tensor holds the same values
  CHECK(rebuilds == 1);         // once for both readers
  CHECK(kept_rebuilds == 0);
  CHECK(kept_live - rebuilt_live == 64 * 32 * 4);  // h is not kept between forward and backward
}
