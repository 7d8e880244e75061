// Planning, parallel encoding and restartable writing of a shard set.
#include "core/data/prepare.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/data/data_error.hpp"
#include "core/data/shard_file.hpp"
#include "core/data/shard_set.hpp"
#include "core/util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace wb {
namespace {

struct piece {
  std::string file;
  uint64_t begin = 0, end = 0;  // byte range
  uint64_t first_line = 1;      // line number at `begin` (jsonl)
};

struct unit {
  std::vector<piece> pieces;
  uint64_t bytes() const {
    uint64_t b = 0;
    for (auto& p : pieces) b += p.end - p.begin;
    return b;
  }
};

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  if (inputs.empty()) throw data_error("no inputs: name files or folders with --in");
  std::vector<std::string> files;
  for (auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (auto& e : fs::recursive_directory_iterator(in, ec))
        if (e.is_regular_file()) found.push_back(e.path().string());
      if (found.empty()) throw data_error(fmt::format("{}: the folder holds no files", in));
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(in, ec)) {
      files.push_back(in);
    } else {
      throw data_error(fmt::format("{}: no such file or folder", in));
    }
  }
  for (auto& f : files)
    if (fs::file_size(f) == 0) throw data_error(fmt::format("{}: the input is empty", f));
  return files;
}

std::string read_range(const std::string& file, uint64_t begin, uint64_t end) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw data_error(fmt::format("{}: cannot read: {}", file, std::strerror(errno)));
  std::string s(end - begin, '\0');
  in.seekg(std::streamoff(begin));
  in.read(s.data(), std::streamsize(s.size()));
  if (uint64_t(in.gcount()) != s.size()) throw data_error(fmt::format("{}: changed while being read", file));
  return s;
}

std::vector<unit> plan_units(const std::vector<std::string>& files, prepare_options o) {
  // Small inputs are still cut into several units so that every worker has one; the cut depends
  // only on the inputs (not the thread count), so a restart finds the same plan.
  uint64_t total = 0;
  for (auto& f : files) total += fs::file_size(f);
  o.shard_bytes = std::min<uint64_t>(o.shard_bytes, std::max<uint64_t>(1u << 20, total / 8));
  std::vector<unit> units;
  if (o.format == "text") {
    unit current;
    for (auto& f : files) {
      uint64_t size = fs::file_size(f);
      if (!current.pieces.empty() && current.bytes() + size > o.shard_bytes) units.push_back(std::move(current)), current = {};
      current.pieces.push_back({f, 0, size, 1});
    }
    if (!current.pieces.empty()) units.push_back(std::move(current));
    return units;
  }
  for (auto& f : files) {  // jsonl: cut each file at the first newline after every shard_bytes
    std::string text = read_range(f, 0, fs::file_size(f));
    uint64_t begin = 0, line = 1;
    while (begin < text.size()) {
      uint64_t end = std::min<uint64_t>(text.size(), begin + o.shard_bytes);
      if (end < text.size()) {
        auto nl = text.find('\n', end - 1);
        end = nl == std::string::npos ? text.size() : nl + 1;
      }
      units.push_back({{{f, begin, end, line}}});
      line += uint64_t(std::count(text.begin() + long(begin), text.begin() + long(end), '\n'));
      begin = end;
    }
  }
  return units;
}

nlohmann::json plan_json(const std::vector<unit>& units, const prepare_options& o, const document_encoder& e) {
  nlohmann::json j;
  j["format"] = o.format;
  j["field"] = o.field;
  j["tokenizer_fingerprint"] = e.fingerprint;
  j["skip_bad_lines"] = o.skip_bad_lines;
  j["units"] = nlohmann::json::array();
  for (auto& u : units) {
    nlohmann::json pieces = nlohmann::json::array();
    for (auto& p : u.pieces)
      pieces.push_back({p.file, p.begin, p.end, p.first_line, (long long)fs::last_write_time(p.file).time_since_epoch().count()});
    j["units"].push_back(pieces);
  }
  return j;
}

std::string shard_name(size_t i) { return fmt::format("shard-{:05d}.wbtok", i); }

struct bad_lines {
  std::mutex mutex;
  uint64_t count = 0;
  std::vector<std::string> examples;
  void add(std::string what) {
    std::lock_guard lock(mutex);
    ++count;
    if (examples.size() < 5) examples.push_back(std::move(what));
  }
};

// Encodes one unit; `done` advances by input bytes as documents finish.
shard_contents encode_unit(const unit& u, const prepare_options& o, const document_encoder& e,
                           std::atomic<uint64_t>& done, bad_lines& bad, const std::atomic<bool>& stop) {
  shard_contents c;
  std::vector<uint32_t> ids;
  for (auto& p : u.pieces) {
    std::string text = read_range(p.file, p.begin, p.end);
    if (o.format == "text") {
      ids.clear();
      e.encode(text, ids);
      c.add_document(ids);
      done += text.size();
      continue;
    }
    uint64_t line = p.first_line;
    size_t at = 0;
    while (at < text.size() && !stop) {
      size_t nl = text.find('\n', at);
      size_t end = nl == std::string::npos ? text.size() : nl;
      std::string_view row(text.data() + at, end - at);
      done += end - at + 1;
      if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
      if (row.find_first_not_of(" \t") != std::string_view::npos) {
        std::string why;
        try {
          auto j = nlohmann::json::parse(row);
          auto it = j.is_object() ? j.find(o.field) : j.end();
          if (it == j.end() || !it->is_string()) why = fmt::format("no string field \"{}\"", o.field);
          else {
            ids.clear();
            e.encode(it->get_ref<const std::string&>(), ids);
            c.add_document(ids);
          }
        } catch (nlohmann::json::parse_error& err) {
          why = fmt::format("invalid JSON ({})", err.what());
        }
        if (!why.empty()) {
          std::string where = fmt::format("{}:{}: {}", p.file, line, why);
          if (!o.skip_bad_lines) throw data_error(where + "; fix the line or pass --on-bad-line skip");
          bad.add(where);
        }
      }
      ++line;
      at = end + 1;
    }
  }
  return c;
}

}  // namespace

prepare_report data_prepare(const prepare_options& o, const document_encoder& e,
                            const std::function<void(uint64_t, uint64_t)>& progress) {
  if (o.format != "text" && o.format != "jsonl")
    throw data_error(fmt::format("unknown format '{}': expected text or jsonl", o.format));
  auto start = std::chrono::steady_clock::now();
  auto files = expand_inputs(o.inputs);
  auto units = plan_units(files, o);
  fs::create_directories(o.out_dir);
  std::string plan_path = (fs::path(o.out_dir) / "plan.json").string();
  nlohmann::json plan = plan_json(units, o, e);

  // Restart: the same plan means finished shards can be kept.
  bool same_plan = false;
  if (std::ifstream in(plan_path); in) {
    try { same_plan = nlohmann::json::parse(in) == plan; } catch (...) {}
  }
  if (!same_plan) {
    std::error_code ec;
    fs::remove(fs::path(o.out_dir) / "manifest.json", ec);
    for (auto& entry : fs::directory_iterator(o.out_dir))
      if (entry.path().extension() == ".wbtok") fs::remove(entry.path(), ec);
    atomic_write_file(plan_path, plan.dump() + "\n");
  }

  uint64_t total = 0;
  for (auto& u : units) total += u.bytes();
  std::vector<shard_entry> entries(units.size());
  std::vector<bool> reused(units.size(), false);
  std::atomic<uint64_t> done{0};
  if (same_plan)
    for (size_t i = 0; i < units.size(); ++i) {
      std::string path = (fs::path(o.out_dir) / shard_name(i)).string();
      if (!fs::exists(path)) continue;
      try {
        shard_reader r(path);
        entries[i] = {shard_name(i), r.documents(), r.tokens(), units[i].bytes()};
        reused[i] = true;
        done += units[i].bytes();
      } catch (data_error&) {}  // damaged: redo it
    }

  bad_lines bad;
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    while (!stop) {
      size_t i = next++;
      if (i >= units.size()) return;
      if (reused[i]) continue;
      try {
        shard_contents c = encode_unit(units[i], o, e, done, bad, stop);
        if (stop) return;
        shard_write((fs::path(o.out_dir) / shard_name(i)).string(), c, e.vocab_size, fingerprint_from_hex(e.fingerprint));
        entries[i] = {shard_name(i), c.documents(), c.tokens.size(), units[i].bytes()};
        if (progress) progress(done, total);
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        stop = true;
      }
    }
  };
  int threads = std::max(1, std::min<int>(o.threads, int(units.size())));
  std::vector<std::thread> pool;
  std::atomic<bool> finished{false};
  std::thread reporter;
  if (progress)
    reporter = std::thread([&] {
      while (!finished) {
        progress(done, total);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    });
  for (int t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  finished = true;
  if (reporter.joinable()) reporter.join();
  if (failure) std::rethrow_exception(failure);

  shard_set_manifest m;
  m.tokenizer_fingerprint = e.fingerprint;
  m.vocab_size = e.vocab_size;
  m.eos_id = e.eos_id;
  m.shards = entries;
  m.inputs = files;
  prepare_report report;
  for (size_t i = 0; i < entries.size(); ++i) {
    m.documents += entries[i].documents;
    m.tokens += entries[i].tokens;
    m.input_bytes += entries[i].input_bytes;
    (reused[i] ? report.shards_reused : report.shards_written)++;
  }
  if (m.documents == 0) throw data_error("the inputs hold no documents");
  shard_set_write_manifest(o.out_dir, m);
  report.documents = m.documents;
  report.tokens = m.tokens;
  report.input_bytes = m.input_bytes;
  report.bad_lines = bad.count;
  report.bad_line_examples = bad.examples;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace wb
