// Training-step throughput of wb for bench/train_step/run: full steps (forward, backward, grad
// norm and clipping, AdamW) of a Llama on random tokens, and the fp32 GEMM peak of Eigen on the same
// cores. Prints one line per measurement:
//   wb_train_step train tiny|small STEPS [fp32|bf16]  ->  params N | step MS (one line a step) | peak BYTES
//   (bf16: mixed precision, core/model/mixed_precision.hpp; activations BYTES is that category's peak)
//   wb_train_step sgemm N REPS            ->  sgemm GFLOPS (one line a repetition)
#include <fmt/format.h>

#include <Eigen/Core>
#include <chrono>
#include <cstring>
#include <random>

#include "backends/cpu/cpu_backend.hpp"
#include "core/train/trainer.hpp"

using namespace wb;
using clock_type = std::chrono::steady_clock;

namespace {

// The two configs of the benchmark (the "tiny" is wb.models.tiny_llama); embeddings tied.
model_config bench_config(const std::string& name, int64_t& batch) {
  model_config c;
  c.family = "llama", c.tied_embeddings = true, c.norm_eps = 1e-5, c.rope_theta = 10000;
  if (name == "tiny") c.layers = 4, c.dim = 256, c.heads = 8, c.kv_heads = 4, c.ffn = 688, c.vocab = 4096, c.seq_len = 256, batch = 8;
  else if (name == "small") c.layers = 8, c.dim = 512, c.heads = 8, c.kv_heads = 8, c.ffn = 1376, c.vocab = 8192, c.seq_len = 512, batch = 4;
  else throw std::invalid_argument(fmt::format("unknown config '{}': expected tiny or small", name));
  return c;
}

double ms_since(clock_type::time_point t0) { return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count(); }

int train(const std::string& name, int steps, const std::string& precision) {
  int64_t B = 0;
  model_config c = bench_config(name, B);
  c.precision = precision;
  int64_t T = c.seq_len;
  cpu_backend be(2);
  model m(c, 1);
  trainer_options o;
  o.optim.lr = 3e-4, o.optim.weight_decay = 0.1, o.optim.clip = 1.0;
  o.total_steps = steps + 1, o.microbatch = int(B);
  trainer tr(m, be, o);
  tensor tokens({B, T}, mem_category::temporaries, dtype::i32), targets({B, T}, mem_category::temporaries, dtype::i32);
  std::mt19937 rng(1);
  for (int64_t i = 0; i < B * T; ++i) tokens.i32()[i] = int32_t(rng() % c.vocab), targets.i32()[i] = int32_t(rng() % c.vocab);
  fmt::print("params {}\n", m.num_params());
  tr.step(tokens, targets);  // warm-up: first-touch of activations, optimizer state
  memory().reset_peaks();
  for (int s = 0; s < steps; ++s) {
    auto t0 = clock_type::now();
    step_result r = tr.step(tokens, targets);
    fmt::print("step {:.2f} loss {:.4f}\n", ms_since(t0), r.loss);
    std::fflush(stdout);
  }
  fmt::print("peak {}\nactivations {}\n", memory().total().peak, memory().category(mem_category::activations).peak);
  return 0;
}

// C = A B, row-major square fp32, Eigen's own OpenMP threading on 2 threads.
int sgemm(int n, int reps) {
  using mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::setNbThreads(2);
  mat a = mat::Random(n, n), b = mat::Random(n, n), c(n, n);
  c.noalias() = a * b;
  for (int r = 0; r < reps; ++r) {
    auto t0 = clock_type::now();
    c.noalias() = a * b;
    fmt::print("sgemm {:.1f}\n", 2.0 * n * n * n / (ms_since(t0) * 1e6));
  }
  return c(0, 0) == 12345.f;  // keeps the product
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && !std::strcmp(argv[1], "train")) return train(argv[2], std::atoi(argv[3]), argc >= 5 ? argv[4] : "fp32");
  if (argc >= 4 && !std::strcmp(argv[1], "sgemm")) return sgemm(std::atoi(argv[2]), std::atoi(argv[3]));
  fmt::print(stderr, "usage: wb_train_step train tiny|small STEPS [fp32|bf16] | wb_train_step sgemm N REPS\n");
  return 2;
}
