// Expanding and planning a sweep; see sweep.hpp.
#include "repl/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

#include "core/recipe/schema.hpp"
#include "core/util/did_you_mean.hpp"
#include "repl/units.hpp"

namespace wb {
namespace {

size_t schema_rank(const std::string& path) {
  const field_spec* spec = schema_find(path);
  return spec ? size_t(spec - recipe_schema().data()) : recipe_schema().size();
}

}  // namespace

std::vector<std::vector<recipe_edit>> sweep_points(std::vector<sweep_axis> axes) {
  for (auto& a : axes) {
    const field_spec* spec = schema_find(a.path);
    if (!spec || spec->type == field_type::section || spec->type == field_type::map) {
      std::vector<std::string> paths;
      for (auto& f : recipe_schema())
        if (f.type != field_type::section && f.type != field_type::map) paths.push_back(f.path);
      std::string near = did_you_mean(a.path, paths);
      throw std::invalid_argument(fmt::format("sweep: '{}' is not a recipe field{}", a.path,
                                              near.empty() ? "" : "; did you mean '" + near + "'?"));
    }
    if (a.values.empty()) throw std::invalid_argument(fmt::format("sweep: '{}' has no values to try", a.path));
  }
  std::stable_sort(axes.begin(), axes.end(), [](auto& x, auto& y) {
    size_t rx = schema_rank(x.path), ry = schema_rank(y.path);
    return rx != ry ? rx < ry : x.path < y.path;
  });
  std::vector<std::vector<recipe_edit>> points{{}};
  for (auto& a : axes) {
    std::vector<std::vector<recipe_edit>> next;
    for (auto& p : points)
      for (auto& v : a.values) {
        next.push_back(p);
        next.back().push_back({a.path, v});
      }
    points = std::move(next);
  }
  return points;
}

std::vector<sweep_row> sweep_run(const recipe_session& s, session_planner& planner, const std::vector<sweep_axis>& axes,
                                 const std::atomic<bool>* stop) {
  std::vector<sweep_row> rows;
  for (auto& point : sweep_points(axes)) {
    if (stop && stop->load()) break;
    sweep_row row;
    row.point = point;
    resolved_recipe r = s.resolve_with(point);
    if (!r.ok()) {
      row.error = r.errors.front().str();
      row.error = row.error.substr(0, row.error.find('\n'));
    } else {
      try {
        row.plan = planner.plan(*r.config);
      } catch (plan_error& e) {
        row.error = plan_error_text(r, e);
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string sweep_table(const std::vector<sweep_row>& rows) {
  if (rows.empty()) return "";
  std::vector<std::string> header;
  for (auto& e : rows.front().point) header.push_back(e.path);
  for (const char* h : {"fits", "memory/device", "step", "MFU", "tokens/s", "time to train", "cost"}) header.push_back(h);
  std::vector<std::vector<std::string>> cells;
  for (auto& row : rows) {
    std::vector<std::string> line;
    for (auto& e : row.point) line.push_back(e.value.describe());
    if (row.plan) {
      const plan_result& p = *row.plan;
      line.push_back(p.memory.fits ? "yes" : "NO");
      line.push_back(fmt::format("{} / {}", bytes_text(p.memory.total_bytes), bytes_text(p.memory.device_bytes)));
      line.push_back(seconds_text(p.time.step_s));
      line.push_back(fmt::format("{:.1f}%", 100 * p.mfu));
      line.push_back(fmt::format("{:.4g}", p.tokens_per_s));
      line.push_back(duration_text(p.time_to_train_s));
      line.push_back(p.cost_usd ? fmt::format("${:.0f}", *p.cost_usd) : "-");
    } else {
      line.push_back(row.error);
    }
    cells.push_back(line);
  }
  std::vector<size_t> width(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (auto& line : cells)
    if (line.size() == header.size())  // an error row spans the plan columns
      for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  auto format_line = [&](const std::vector<std::string>& line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      bool last = i + 1 == line.size();
      out += last ? line[i] : fmt::format("{:<{}}  ", line[i], width[i]);
    }
    return out + "\n";
  };
  std::string out = format_line(header);
  for (auto& line : cells) out += format_line(line);
  return out;
}

}  // namespace wb
