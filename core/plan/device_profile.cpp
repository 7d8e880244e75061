// Measuring the profile: the backend's own matmul on a grid of shapes (each dimension 64, 256,
// 1024, 4096), its add op streaming 3 x 128 MiB (two reads and a write per element), and its
// attention op. Each shape is timed until 50 ms have passed (at least 3 runs) and the fastest run
// kept: the planner predicts a quiet machine. Shapes above 4 GFLOP are not timed; they take the
// throughput of the shape with their largest dimension one grid step smaller (GEMM throughput
// saturates with size).
#include "core/plan/device_profile.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/tensor/backend.hpp"

namespace wb {
namespace {

constexpr int grid[] = {64, 256, 1024, 4096};
constexpr int grid_size = 4;
constexpr double max_timed_flops = 4e9;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Fastest of repeated runs of `fn`: at least 3, until 50 ms have passed.
template <class F>
double fastest(F&& fn) {
  fn();  // warm-up: page faults, thread pool start
  double best = 1e30, total = 0;
  for (int i = 0; i < 3 || total < 0.05; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    double s = seconds_since(t0);
    best = std::min(best, s);
    total += s;
    if (i > 1000) break;
  }
  return best;
}

double time_gemm(compute_backend& be, int m, int n, int k) {
  tensor a({m, k}, mem_category::temporaries), b({n, k}, mem_category::temporaries);
  a.fill(0.5f);
  b.fill(0.25f);
  op_call c{op_kind::matmul, {}, {a, b}, tensor({m, n}, mem_category::temporaries), {}};
  c.attrs.trans_b = true;  // x W^T, as the model's linear layers call it
  return fastest([&] { be.forward(c); });
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

double physical_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kib = 0;
  while (in >> key >> kib)
    if (key == "MemTotal:") return kib * 1024;
  return 0;
}

int grid_index(int v) {
  for (int i = 0; i < grid_size; ++i)
    if (grid[i] == v) return i;
  return -1;
}

double interpolate_axis(double x, int& lo) {
  double lx = std::log2(std::clamp(x, double(grid[0]), double(grid[grid_size - 1])));
  lo = 0;
  while (lo < grid_size - 2 && lx > std::log2(double(grid[lo + 1]))) ++lo;
  double a = std::log2(double(grid[lo])), b = std::log2(double(grid[lo + 1]));
  return (lx - a) / (b - a);
}

}  // namespace

double device_profile::gemm_flops_per_s(int m, int n, int k) const {
  // Trilinear interpolation of log throughput over the log-spaced grid; outside it, the edge.
  std::map<std::tuple<int, int, int>, double> at;
  for (auto& g : gemm) at[{g.m, g.n, g.k}] = g.flops_per_s;
  if (at.size() != size_t(grid_size * grid_size * grid_size)) throw std::runtime_error("device profile: incomplete GEMM grid; rerun `wb plan --calibrate`");
  int im, in, ik;
  double fm = interpolate_axis(m, im), fn = interpolate_axis(n, in), fk = interpolate_axis(k, ik);
  double acc = 0;
  for (int dm = 0; dm < 2; ++dm)
    for (int dn = 0; dn < 2; ++dn)
      for (int dk = 0; dk < 2; ++dk) {
        double w = (dm ? fm : 1 - fm) * (dn ? fn : 1 - fn) * (dk ? fk : 1 - fk);
        acc += w * std::log(at[{grid[im + dm], grid[in + dn], grid[ik + dk]}]);
      }
  return std::exp(acc);
}

device_profile device_profile_measure(compute_backend& be, int threads) {
  be.set_threads(threads);
  device_profile p;
  p.backend = be.name();
  p.cpu = cpu_model();
  p.threads = be.threads();
  p.memory_bytes = physical_memory();

  std::map<std::tuple<int, int, int>, double> measured;
  // Increasing size, so a skipped shape's smaller neighbour is already known.
  std::vector<std::tuple<int, int, int>> shapes;
  for (int m : grid)
    for (int n : grid)
      for (int k : grid) shapes.push_back({m, n, k});
  std::sort(shapes.begin(), shapes.end(), [](auto& a, auto& b) {
    auto [am, an, ak] = a;
    auto [bm, bn, bk] = b;
    return double(am) * an * ak < double(bm) * bn * bk;
  });
  for (auto [m, n, k] : shapes) {
    double flops = 2.0 * m * n * k, rate;
    if (flops <= max_timed_flops) {
      rate = flops / time_gemm(be, m, n, k);
    } else {
      int dims[3] = {m, n, k};
      int* big = std::max_element(dims, dims + 3);
      *big = grid[grid_index(*big) - 1];
      rate = measured.at({dims[0], dims[1], dims[2]});
    }
    measured[{m, n, k}] = rate;
    p.gemm.push_back({m, n, k, rate});
  }

  // Streaming: out = a + b over 32M floats (128 MiB each), 12 bytes per element.
  const int64_t n = 32 << 20;
  tensor a({n}, mem_category::temporaries), b({n}, mem_category::temporaries);
  a.fill(1);
  b.fill(2);
  op_call add{op_kind::add, {}, {a, b}, tensor({n}, mem_category::temporaries), {}};
  p.memory_bandwidth = 12.0 * double(n) / fastest([&] { be.forward(add); });

  // Attention: B 1, T 512, 8 heads of 64, causal; counted as its two GEMMs' lower triangle.
  const int64_t T = 512, NH = 8, HD = 64;
  tensor q({1, T, NH, HD}, mem_category::temporaries), kv({1, T, NH, HD}, mem_category::temporaries);
  q.fill(0.01f);
  kv.fill(0.02f);
  op_call att{op_kind::attention, {}, {q, kv, kv}, tensor({1, T, NH, HD}, mem_category::temporaries),
              {tensor({1, NH, T}, mem_category::temporaries)}};
  att.attrs.recompute_probs = true;
  double att_flops = 2.0 * (2.0 * T * T * HD) * NH * (T + 1) / (2.0 * T);
  p.attention_flops_per_s = att_flops / fastest([&] { be.forward(att); });
  // Forward storing the probabilities for backward (recompute none).
  op_call saving{op_kind::attention, {}, {q, kv, kv}, tensor({1, T, NH, HD}, mem_category::temporaries),
                 {tensor({1, NH, T}, mem_category::temporaries), tensor({1, NH, T, T}, mem_category::temporaries)}};
  p.attention_saving_flops_per_s = att_flops / fastest([&] { be.forward(saving); });
  // Backward, counted as twice the forward's FLOPs (dQ, dK, dV, dP): once with the probabilities
  // saved by the forward, once rebuilding them (selective recompute: one forward more).
  tensor dout({1, T, NH, HD}, mem_category::temporaries);
  dout.fill(0.001f);
  for (bool rebuild : {false, true}) {
    op_call a{op_kind::attention, {}, {q, kv, kv}, tensor({1, T, NH, HD}, mem_category::temporaries),
              {tensor({1, NH, T}, mem_category::temporaries)}};
    a.attrs.recompute_probs = rebuild;
    if (!rebuild) a.saved.push_back(tensor({1, NH, T, T}, mem_category::temporaries));
    be.forward(a);
    std::vector<tensor> din = {tensor::zeros(q.shape(), mem_category::temporaries), tensor::zeros(kv.shape(), mem_category::temporaries),
                               tensor::zeros(kv.shape(), mem_category::temporaries)};
    double s = fastest([&] { be.backward(a, dout, din); });
    (rebuild ? p.attention_recompute_flops_per_s : p.attention_backward_flops_per_s) = (rebuild ? 3 : 2) * att_flops / s;
  }
  return p;
}

std::string device_profile_path() {
  if (const char* e = std::getenv("WB_PROFILE"); e && *e) return e;
  const char* home = std::getenv("HOME");
  return fmt::format("{}/.cache/wb/profile-cpu.json", home && *home ? home : ".");
}

std::optional<device_profile> device_profile_load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (j.value("version", 0) != 1) return std::nullopt;
  device_profile p;
  p.backend = j.value("backend", "");
  p.cpu = j.value("cpu", "");
  p.threads = j.value("threads", 1);
  p.memory_bandwidth = j.value("memory_bandwidth", 0.0);
  p.memory_bytes = j.value("memory_bytes", 0.0);
  p.attention_flops_per_s = j.value("attention_flops_per_s", 0.0);
  p.attention_backward_flops_per_s = j.value("attention_backward_flops_per_s", 0.0);
  p.attention_saving_flops_per_s = j.value("attention_saving_flops_per_s", 0.0);
  p.attention_recompute_flops_per_s = j.value("attention_recompute_flops_per_s", 0.0);
  for (auto& g : j.at("gemm")) p.gemm.push_back({g.at(0), g.at(1), g.at(2), g.at(3)});
  return p;
}

void device_profile_save(const device_profile& p, const std::string& path) {
  nlohmann::json j = {{"version", p.version}, {"backend", p.backend}, {"cpu", p.cpu}, {"threads", p.threads},
                      {"memory_bandwidth", p.memory_bandwidth}, {"memory_bytes", p.memory_bytes},
                      {"attention_flops_per_s", p.attention_flops_per_s},
                      {"attention_saving_flops_per_s", p.attention_saving_flops_per_s},
                      {"attention_backward_flops_per_s", p.attention_backward_flops_per_s},
                      {"attention_recompute_flops_per_s", p.attention_recompute_flops_per_s},
                      {"gemm", nlohmann::json::array()}};
  for (auto& g : p.gemm) j["gemm"].push_back({g.m, g.n, g.k, g.flops_per_s});
  std::filesystem::path fp(path);
  if (fp.has_parent_path()) std::filesystem::create_directories(fp.parent_path());
  std::ofstream out(path);
  if (!out) throw std::runtime_error(fmt::format("cannot write the device profile {}: check the folder's permissions or set WB_PROFILE", path));
  out << j.dump(1) << "\n";
}

}  // namespace wb
