// Measuring the profile: the backend's own matmul on a grid of shapes (each dimension a power of
// two from 64 to 4096), its add op streaming 3 x 128 MiB (two reads and a write per element), and its
// attention op on a grid of sequence lengths and head dims (the other kernels:
// device_profile_kernels.cpp). Each shape is timed until 50 ms
// have passed (at least 3 runs) and the fastest run kept: the planner predicts a quiet machine. Shapes above 4 GFLOP are not timed; they take the
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
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/plan/fastest_run.hpp"
#include "core/tensor/backend.hpp"

namespace wb {
namespace {

// Every power of two: GEMM throughput is not smooth in the shape (one thread, CPU time, 2026-11-23:
// (2048, 512, 512) ran at 80 GFLOP/s where the 64..4096-by-4 grid's corners interpolated 69, and
// (1024, 1024, 256) below both its neighbours), so a factor-4 grid mispriced the small model's
// 512-wide products by 10-30%.
constexpr int grid[] = {64, 128, 256, 512, 1024, 2048, 4096};
constexpr int grid_size = 7;
constexpr double max_timed_flops = 4e9;


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


// The attention op at sequence T, head dim HD, G query heads per key/value head: B = 2048 / T
// sequences, 8 query heads, causal; FLOPs
// counted as its two GEMMs' lower triangle.
attention_point measure_attention(compute_backend& be, int T, int HD, int G) {
  const int64_t NH = 8, KVH = NH / G, B = std::max(1, 2048 / T);
  auto tmp = mem_category::temporaries;
  tensor q({B, T, NH, HD}, tmp), kv({B, T, KVH, HD}, tmp);
  q.fill(0.01f);
  kv.fill(0.02f);
  double att_flops = 2.0 * (2.0 * T * T * HD) * NH * B * (T + 1) / (2.0 * T);
  attention_point r;
  r.seq = T, r.head_dim = HD, r.kv_group = G;
  op_call att{op_kind::attention, {}, {q, kv, kv}, tensor({B, T, NH, HD}, tmp), {tensor({B, NH, T}, tmp)}};
  att.attrs.recompute_probs = true;
  r.forward = att_flops / fastest([&] { be.forward(att); });
  // Forward storing the probabilities for backward (recompute none).
  op_call saving{op_kind::attention, {}, {q, kv, kv}, tensor({B, T, NH, HD}, tmp), {tensor({B, NH, T}, tmp), tensor({B, NH, T, T}, tmp)}};
  r.forward_saving = att_flops / fastest([&] { be.forward(saving); });
  // Backward, counted as twice the forward's FLOPs (dQ, dK, dV, dP): once with the probabilities
  // saved by the forward, once rebuilding them (selective recompute: one forward more).
  tensor dout({B, T, NH, HD}, tmp);
  dout.fill(0.001f);
  for (bool rebuild : {false, true}) {
    op_call a{op_kind::attention, {}, {q, kv, kv}, tensor({B, T, NH, HD}, tmp), {tensor({B, NH, T}, tmp)}};
    a.attrs.recompute_probs = rebuild;
    if (!rebuild) a.saved.push_back(tensor({B, NH, T, T}, tmp));
    be.forward(a);
    std::vector<tensor> din = {tensor::zeros(q.shape(), tmp), tensor::zeros(kv.shape(), tmp), tensor::zeros(kv.shape(), tmp)};
    double s = fastest([&] { be.backward(a, dout, din); });
    (rebuild ? r.backward_rebuilding : r.backward) = (rebuild ? 3 : 2) * att_flops / s;
  }
  return r;
}

// Position of v between grid points lo and lo + 1 in log space (clamped to the grid).
template <size_t K>
double log_position(const int (&g)[K], double v, int& lo) {
  double lv = std::log2(std::clamp(v, double(g[0]), double(g[K - 1])));
  lo = 0;
  while (lo < int(K) - 2 && lv > std::log2(double(g[lo + 1]))) ++lo;
  return (lv - std::log2(double(g[lo]))) / (std::log2(double(g[lo + 1])) - std::log2(double(g[lo])));
}

}  // namespace

double device_profile::gemm_flops_per_s(int m, int n, int k) const {
  // Trilinear interpolation of log throughput over the grid the profile holds (its own axes, so a
  // profile measured on another grid still plans); outside it, the edge.
  std::set<int> axes[3];
  std::map<std::tuple<int, int, int>, double> at;
  for (auto& g : gemm) {
    axes[0].insert(g.m), axes[1].insert(g.n), axes[2].insert(g.k);
    at[{g.m, g.n, g.k}] = g.flops_per_s;
  }
  if (gemm.empty() || at.size() != axes[0].size() * axes[1].size() * axes[2].size() ||
      std::any_of(axes, axes + 3, [](auto& a) { return a.size() < 2; }))
    throw std::runtime_error("device profile: incomplete GEMM grid; rerun `wb plan --calibrate`");
  int lo[3], hi[3];
  double f[3];
  const int v[3] = {m, n, k};
  for (int d = 0; d < 3; ++d) {
    std::vector<int> g(axes[d].begin(), axes[d].end());
    double lv = std::log2(std::clamp(double(v[d]), double(g.front()), double(g.back())));
    size_t i = 0;
    while (i + 2 < g.size() && lv > std::log2(double(g[i + 1]))) ++i;
    lo[d] = g[i], hi[d] = g[i + 1];
    f[d] = (lv - std::log2(double(lo[d]))) / (std::log2(double(hi[d])) - std::log2(double(lo[d])));
  }
  double acc = 0;
  for (int dm = 0; dm < 2; ++dm)
    for (int dn = 0; dn < 2; ++dn)
      for (int dk = 0; dk < 2; ++dk) {
        double w = (dm ? f[0] : 1 - f[0]) * (dn ? f[1] : 1 - f[1]) * (dk ? f[2] : 1 - f[2]);
        acc += w * std::log(at.at({dm ? hi[0] : lo[0], dn ? hi[1] : lo[1], dk ? hi[2] : lo[2]}));
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

  // Attention on a grid of sequence lengths, head dims and query heads per key/value head (its
  // speed depends on each: tiles of the score matrix, per-row work beside the products, keys and
  // values shared by a group), 8 query heads, 2048 tokens a batch.
  for (int T : attention_seq_grid)
    for (int HD : attention_head_dim_grid)
      for (int G : attention_kv_group_grid) p.attention.push_back(measure_attention(be, T, HD, G));
  attention_point ref = p.attention_at(512, 64, 1);
  p.attention_flops_per_s = ref.forward, p.attention_saving_flops_per_s = ref.forward_saving;
  p.attention_backward_flops_per_s = ref.backward, p.attention_recompute_flops_per_s = ref.backward_rebuilding;
  device_profile_measure_kernels(be, p);
  return p;
}

attention_point device_profile::attention_at(int seq, int head_dim, int kv_group) const {
  std::map<std::tuple<int, int, int>, attention_point> at;
  for (auto& a : attention) at[{a.seq, a.head_dim, a.kv_group}] = a;
  if (at.size() != std::size(attention_seq_grid) * std::size(attention_head_dim_grid) * std::size(attention_kv_group_grid))
    throw std::runtime_error("device profile: incomplete attention grid; rerun `wb plan --calibrate`");
  int it, ih, ig;
  double ft = log_position(attention_seq_grid, seq, it), fh = log_position(attention_head_dim_grid, head_dim, ih);
  double fg = log_position(attention_kv_group_grid, kv_group, ig);
  attention_point r;
  r.seq = seq, r.head_dim = head_dim, r.kv_group = kv_group;
  for (double attention_point::*rate : {&attention_point::forward, &attention_point::forward_saving, &attention_point::backward,
                                        &attention_point::backward_rebuilding}) {
    double acc = 0;
    for (int dt = 0; dt < 2; ++dt)
      for (int dh = 0; dh < 2; ++dh)
        for (int dg = 0; dg < 2; ++dg)
          acc += (dt ? ft : 1 - ft) * (dh ? fh : 1 - fh) * (dg ? fg : 1 - fg) *
                 std::log(at.at({attention_seq_grid[it + dt], attention_head_dim_grid[ih + dh], attention_kv_group_grid[ig + dg]}).*rate);
    r.*rate = std::exp(acc);
  }
  return r;
}

double device_profile::kernel_seconds(const std::string& op, bool backward, double elements) const {
  auto it = kernels.find(op);
  if (it == kernels.end()) return 0;
  return (backward ? it->second.backward_s : it->second.forward_s) * elements;
}

double device_profile::collective_seconds(collective_op op, double bytes) const {
  if (collectives.empty() || bytes <= 0) return 0;
  auto at = [op](const collective_point& c) {
    return op == collective_op::all_reduce ? c.all_reduce_s : op == collective_op::reduce_scatter ? c.reduce_scatter_s : c.all_gather_s;
  };
  const collective_point &first = collectives.front(), &last = collectives.back();
  if (bytes <= first.bytes) return at(first);  // latency-bound: a smaller message costs no less
  if (bytes >= last.bytes) return at(last) * bytes / last.bytes;
  size_t i = 1;
  while (collectives[i].bytes < bytes) ++i;
  const collective_point &a = collectives[i - 1], &b = collectives[i];
  double f = std::log(bytes / a.bytes) / std::log(b.bytes / a.bytes);
  return std::exp((1 - f) * std::log(at(a)) + f * std::log(at(b)));
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
  if (j.value("version", 0) != device_profile_version) return std::nullopt;  // older: measure again
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
  p.zero_fill_bandwidth = j.value("zero_fill_bandwidth", 0.0);
  p.op_overhead_s = j.value("op_overhead_s", 0.0);
  p.optimizer_s_per_param = j.value("optimizer_s_per_param", 0.0);
  p.collective_ranks = j.value("collective_ranks", 0);
  try {
    for (auto& g : j.at("gemm")) p.gemm.push_back({g.at(0), g.at(1), g.at(2), g.at(3)});
    nlohmann::json kernels = j.value("kernels", nlohmann::json::object()), collectives = j.value("collectives", nlohmann::json::array());
    for (auto& [op, k] : kernels.items()) p.kernels[op] = {k.at(0), k.at(1)};
    for (auto& c : collectives) p.collectives.push_back({c.at(0), c.at(1), c.at(2), c.at(3)});
    for (auto& a : j.value("attention", nlohmann::json::array()))
      p.attention.push_back({a.at(0), a.at(1), a.at(2), a.at(3), a.at(4), a.at(5), a.at(6)});
  } catch (const std::exception&) {
    return std::nullopt;  // damaged: measure again
  }
  return p;
}

void device_profile_save(const device_profile& p, const std::string& path) {
  nlohmann::json j = {{"version", p.version}, {"backend", p.backend}, {"cpu", p.cpu}, {"threads", p.threads},
                      {"memory_bandwidth", p.memory_bandwidth}, {"memory_bytes", p.memory_bytes},
                      {"attention_flops_per_s", p.attention_flops_per_s},
                      {"attention_saving_flops_per_s", p.attention_saving_flops_per_s},
                      {"attention_backward_flops_per_s", p.attention_backward_flops_per_s},
                      {"attention_recompute_flops_per_s", p.attention_recompute_flops_per_s},
                      {"zero_fill_bandwidth", p.zero_fill_bandwidth}, {"op_overhead_s", p.op_overhead_s},
                      {"optimizer_s_per_param", p.optimizer_s_per_param}, {"collective_ranks", p.collective_ranks},
                      {"gemm", nlohmann::json::array()}, {"kernels", nlohmann::json::object()},
                      {"collectives", nlohmann::json::array()}, {"attention", nlohmann::json::array()}};
  for (auto& g : p.gemm) j["gemm"].push_back({g.m, g.n, g.k, g.flops_per_s});
  for (auto& [op, k] : p.kernels) j["kernels"][op] = {k.forward_s, k.backward_s};
  for (auto& a : p.attention) j["attention"].push_back({a.seq, a.head_dim, a.kv_group, a.forward, a.forward_saving, a.backward, a.backward_rebuilding});
  for (auto& c : p.collectives) j["collectives"].push_back({c.bytes, c.all_reduce_s, c.reduce_scatter_s, c.all_gather_s});
  std::filesystem::path fp(path);
  if (fp.has_parent_path()) std::filesystem::create_directories(fp.parent_path());
  std::ofstream out(path);
  if (!out) throw std::runtime_error(fmt::format("cannot write the device profile {}: check the folder's permissions or set WB_PROFILE", path));
  out << j.dump(1) << "\n";
}

}  // namespace wb
