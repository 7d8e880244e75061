// `wb plan` of local tensor and pipeline parallel layouts through the real binary: memory per rank
// in the report and in JSON (plan_version 2, memory_by_rank), the step split into compute, tp and pp
// communication and bubble, and
// each rank's prediction against the peak `wb run --nproc` writes to metrics.jsonl.
#include <catch2/catch.hpp>

#include <unistd.h>

#include "tests/support/small_run.hpp"
#include "tests/support/synthetic_profile.hpp"

using namespace wb;
using namespace wb::test;

namespace {

// WB_PROFILE set to a hand-set profile (local plans need one; only its memory size matters here),
// with a collective table so that `wb plan` of several ranks does not measure one.
struct plan_profile {
  std::string path = (std::filesystem::temp_directory_path() / ("wb-plan-ranks-" + std::to_string(::getpid()) + ".json")).string();
  plan_profile() {
    device_profile p = synthetic_profile();
    add_synthetic_collectives(p);
    device_profile_save(p, path);
  }
  ~plan_profile() { std::filesystem::remove(path); }
  std::string env() const { return "WB_PROFILE=" + path + " "; }
};

}  // namespace

TEST_CASE("wb plan of a local tp x pp layout prints every rank's memory and the step's parts", "[cli][plan][ranks]") {
  small_run s;
  plan_profile prof;
  auto text = run_command(prof.env() + wb_cmd("plan small.lua parallel.tp=2 parallel.pp=2"));
  INFO(text.out);
  REQUIRE(text.status == 0);
  CHECK_THAT(text.out, Catch::Contains("memory    per rank, rank 0 (pipeline stage 0 of 2; the most loaded of 4)"));
  CHECK_THAT(text.out, Catch::Contains("ranks     peak per rank (stage): 0 (0) "));
  CHECK_THAT(text.out, Catch::Contains("tp comm"));
  CHECK_THAT(text.out, Catch::Contains("bubble"));

  auto js = run_command(prof.env() + wb_cmd("plan small.lua parallel.tp=2 parallel.pp=2 --json"));
  REQUIRE(js.status == 0);
  auto j = nlohmann::json::parse(js.out);
  CHECK(j["plan_version"] == 2);
  CHECK(j["time_predicted"] == true);
  CHECK(j["step_time_s"].get<double>() > 0);
  CHECK(j["time"]["tp_comm_s"].get<double>() > 0);
  CHECK(j["time"]["bubble_s"].get<double>() > 0);
  CHECK(j["step_time_s"].get<double>() == Approx(j["time"]["compute_s"].get<double>() + j["time"]["tp_comm_s"].get<double>() +
                                                 j["time"]["pp_comm_s"].get<double>() + j["time"]["dp_comm_s"].get<double>() +
                                                 j["time"]["bubble_s"].get<double>() + j["time"]["optimizer_s"].get<double>()));
  REQUIRE(j["memory_by_rank"].size() == 4);
  for (int r = 0; r < 4; ++r) {
    CHECK(j["memory_by_rank"][r]["rank"] == r);
    CHECK(j["memory_by_rank"][r]["stage"] == r / 2);  // tp innermost
  }
  // the most loaded rank is the one `memory` describes
  double most = 0;
  for (auto& r : j["memory_by_rank"]) most = std::max(most, r["total_bytes"].get<double>());
  CHECK(j["memory"]["total_bytes"].get<double>() == most);
  CHECK(j["memory_by_rank"][int(j["memory"]["rank"])]["total_bytes"].get<double>() == most);
}

TEST_CASE("wb plan's per-rank peaks match what wb run --nproc measures per rank", "[cli][plan][ranks][pp]") {
  small_run s;
  plan_profile prof;
  for (const char* layout : {"parallel.pp=2", "parallel.tp=2", "parallel.tp=2 parallel.sequence_parallel=true",
                             "parallel.pp=2 parallel.virtual_stages=2 model.layers=4"}) {
    const int world = 2;  // each layout splits over two ranks
    auto plan = run_command(prof.env() + wb_cmd(std::string("plan small.lua --json ") + layout));
    INFO(layout << "\n" << plan.out);
    REQUIRE(plan.status == 0);
    auto predicted = nlohmann::json::parse(plan.out)["memory_by_rank"];
    auto run = run_command(wb_cmd(std::string("run small.lua --out r --steps 2 --nproc ") + std::to_string(world) + " " + layout));
    INFO(run.out);
    REQUIRE(run.status == 0);
    nlohmann::json measured;
    for (auto& line : read_jsonl("r/metrics.jsonl"))
      if (line.contains("peak_memory_bytes_by_rank")) measured = line["peak_memory_bytes_by_rank"];
    REQUIRE(measured.size() == predicted.size());
    for (size_t r = 0; r < measured.size(); ++r) {
      double p = predicted[r]["total_bytes"], m = measured[r]["total"];
      WARN(layout << " rank " << r << ": predicted " << p << " B, measured " << m << " B (" << 100 * (p / m - 1) << "%)");
      CHECK(std::abs(p / m - 1) <= 0.05);
    }
    std::filesystem::remove_all("r");
  }
}
