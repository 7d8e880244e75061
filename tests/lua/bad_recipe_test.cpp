// Bad recipes: every mistake is reported before anything runs, each naming the file and line that
// wrote the value, the dotted key, what was expected and what was given. Messages are asserted
// word for word: they are the interface a recipe author reads.
#include <catch2/catch.hpp>

#include "tests/support/recipe_fixture.hpp"

using namespace wb::test;
using wb::test::check;

TEST_CASE("the base recipe of these tests is valid", "[recipe][bad]") {
  CHECK(check_text(base_recipe) == "");
}

// --- unknown keys ------------------------------------------------------------------------------

TEST_CASE("an unknown key with a near miss suggests the right one", "[recipe][bad][keys]") {
  CHECK(check_text(edited("microbatch = 2", "microbach = 2")) ==
        "x.lua:21: Invalid 'parallel.microbach': expected a known key of 'parallel', got 'microbach'\n"
        "  hint: did you mean 'microbatch'?\n");
}

TEST_CASE("an unknown key far from any lists the known keys", "[recipe][bad][keys]") {
  CHECK(check_text(edited("    lr = 1e-3,\n", "    lr = 1e-3,\n    momentum = 0.9,\n")) ==
        "x.lua:29: Invalid 'optim.momentum': expected a known key of 'optim', got 'momentum'\n"
        "  hint: known keys: algorithm, lr, lr_min, betas, eps, weight_decay, warmup_steps, schedule and clip\n");
}

TEST_CASE("an unknown top-level section suggests the right one", "[recipe][bad][keys]") {
  CHECK(check_text(edited("  cluster = cluster {", "  clustr = cluster {")) ==
        "x.lua:24: Invalid 'clustr': expected a known key of 'recipe', got 'clustr'\n"
        "  hint: did you mean 'cluster'?\n");
}

TEST_CASE("a key in the wrong section is unknown there", "[recipe][bad][keys]") {
  CHECK(check_text(edited("    heads = 8,\n", "    heads = 8,\n    tp = 2,\n")) ==
        "x.lua:8: Invalid 'model.tp': expected a known key of 'model', got 'tp'\n"
        "  hint: known keys: family, layers, dim, heads, kv_heads, ffn, vocab, seq_len, tied_embeddings, norm_eps, "
        "rope_theta, init, init_seed and precision\n");
}

TEST_CASE("an unknown key inside a data source suggests the right one", "[recipe][bad][keys]") {
  CHECK(check_text(edited("weight = 0.6", "wieght = 0.6")) ==
        "x.lua:16: Invalid 'data.sources.ja.wieght': expected a known key of 'data.sources.ja', got 'wieght'\n"
        "  hint: did you mean 'weight'?\n"
        "x.lua:16: Invalid 'data.sources.ja.weight': expected a number > 0, got nothing\n"
        "  hint: add weight = ... to the data.sources.ja block\n");
}

// --- types -------------------------------------------------------------------------------------

TEST_CASE("a string where an integer belongs names both", "[recipe][bad][types]") {
  CHECK(check_text(edited("layers = 4", "layers = \"four\"")) ==
        "x.lua:5: Invalid 'model.layers' \"four\": expected an integer >= 1, got a string \"four\"\n");
}

TEST_CASE("a fraction where an integer belongs asks for a whole number", "[recipe][bad][types]") {
  CHECK(check_text(edited("layers = 4", "layers = 4.5")) ==
        "x.lua:5: Invalid 'model.layers' 4.5: expected an integer >= 1, got 4.5\n"
        "  hint: use a whole number\n");
}

TEST_CASE("a number where a boolean belongs", "[recipe][bad][types]") {
  CHECK(check_text(edited("    seq_len = 256,\n", "    seq_len = 256,\n    tied_embeddings = 1,\n")) ==
        "x.lua:12: Invalid 'model.tied_embeddings' 1: expected true or false, got a number 1\n");
}

TEST_CASE("a number where a string belongs", "[recipe][bad][types]") {
  CHECK(check_text(edited("tokenizer = \"tok.json\"", "tokenizer = 42")) ==
        "x.lua:14: Invalid 'data.tokenizer' 42: expected a string, got a number 42\n");
}

TEST_CASE("a value where a section belongs", "[recipe][bad][types]") {
  CHECK(check_text(edited("  optim = optim {\n    lr = 1e-3,\n  },\n", "  optim = 0.001,\n")) ==
        "x.lua:27: Invalid 'optim' 0.001: expected a table, got a number\n");
}

TEST_CASE("betas must be a list of two numbers", "[recipe][bad][types]") {
  CHECK(check_text(edited("    lr = 1e-3,\n", "    lr = 1e-3,\n    betas = {0.9},\n")) ==
        "x.lua:29: Invalid 'optim.betas' {0.9}: expected a list of 2 numbers, each in [0, 1), got {0.9}\n");
}

TEST_CASE("a beta of 1 is out of range", "[recipe][bad][range]") {
  CHECK(check_text(edited("    lr = 1e-3,\n", "    lr = 1e-3,\n    betas = {0.9, 1.0},\n")) ==
        "x.lua:29: Invalid 'optim.betas' {0.9, 1}: expected a list of 2 numbers, each in [0, 1), got {0.9, 1}\n");
}

TEST_CASE("a source that is not a table", "[recipe][bad][types]") {
  CHECK(check_text(edited("en = source { path = \"en\", weight = 0.4 }", "en = \"en\"")) ==
        "x.lua:17: Invalid 'data.sources.en' \"en\": expected a table { path = ..., weight = ... }, got a string\n");
}

TEST_CASE("a table mixing named and positional entries", "[recipe][bad][types]") {
  CHECK(check_text(edited("    microbatch = 2,\n", "    microbatch = 2, 7,\n")) ==
        "x.lua:20: Invalid 'parallel': expected a table with named fields only, got a table mixing named and "
        "positional entries\n");
}

TEST_CASE("a function is not a value", "[recipe][bad][types]") {
  CHECK(check_text(edited("name = \"t\"", "name = function() end")) ==
        "x.lua:2: Invalid 'name': expected a value (number, string, boolean or table), got a function\n");
}

TEST_CASE("an infinite number is refused", "[recipe][bad][range]") {
  CHECK(check_text(edited("lr = 1e-3", "lr = math.huge")) ==
        "x.lua:28: Invalid 'optim.lr' inf: expected a finite number, got inf\n");
}

// --- ranges and choices ------------------------------------------------------------------------

TEST_CASE("zero layers is out of range", "[recipe][bad][range]") {
  CHECK(check_text(edited("layers = 4", "layers = 0")) ==
        "x.lua:5: Invalid 'model.layers' 0: expected an integer >= 1, got 0\n");
}

TEST_CASE("a negative learning rate is out of range", "[recipe][bad][range]") {
  CHECK(check_text(edited("lr = 1e-3", "lr = -1e-3")) ==
        "x.lua:28: Invalid 'optim.lr' -0.001: expected a number > 0, got -0.001\n");
}

TEST_CASE("ZeRO stage 4 does not exist", "[recipe][bad][range]") {
  CHECK(check_text(edited("microbatch = 2,", "microbatch = 2, zero = 4,")) ==
        "x.lua:21: Invalid 'parallel.zero' 4: expected an integer in [0, 3], got 4\n");
}

TEST_CASE("an unknown model family suggests the right one", "[recipe][bad][choice]") {
  CHECK(check_text(edited("family = \"llama\"", "family = \"lama\"")) ==
        "x.lua:4: Invalid 'model.family' \"lama\": expected one of \"llama\" or \"gpt\", got \"lama\"\n"
        "  hint: did you mean 'llama'?\n");
}

TEST_CASE("an unknown recompute mode", "[recipe][bad][choice]") {
  CHECK(check_text(edited("microbatch = 2,", "microbatch = 2, recompute = \"partial\",")) ==
        "x.lua:21: Invalid 'parallel.recompute' \"partial\": expected one of \"none\", \"selective\" or \"full\", "
        "got \"partial\"\n");
}

TEST_CASE("an unknown instance type suggests the near one and lists the catalog", "[recipe][bad][choice]") {
  CHECK(check_text(edited("instance = \"local\"", "instance = \"p5.48xl\"")) ==
        "x.lua:25: Invalid 'cluster.instance' \"p5.48xl\": expected an instance type from the catalog, got \"p5.48xl\"\n"
        "  hint: known types: dl1.24xlarge, local, p4d.24xlarge, p4de.24xlarge, p5.48xlarge, p5e.48xlarge, "
        "trn1.32xlarge, trn1n.32xlarge or trn2.48xlarge\n");
}

TEST_CASE("an instance type one letter off gets did you mean", "[recipe][bad][choice]") {
  CHECK(check_text(edited("instance = \"local\"", "instance = \"p4d.24xlarg\"")) ==
        "x.lua:25: Invalid 'cluster.instance' \"p4d.24xlarg\": expected an instance type from the catalog, got "
        "\"p4d.24xlarg\"\n"
        "  hint: did you mean 'p4d.24xlarge'? known types: dl1.24xlarge, local, p4d.24xlarge, p4de.24xlarge, "
        "p5.48xlarge, p5e.48xlarge, trn1.32xlarge, trn1n.32xlarge or trn2.48xlarge\n");
}

TEST_CASE("a weight that is not positive", "[recipe][bad][range]") {
  CHECK(check_text(edited("weight = 0.4", "weight = 0")) ==
        "x.lua:17: Invalid 'data.sources.en.weight' 0: expected a number > 0, got 0\n");
}

TEST_CASE("a negative weight", "[recipe][bad][range]") {
  CHECK(check_text(edited("weight = 0.4", "weight = -0.4")) ==
        "x.lua:17: Invalid 'data.sources.en.weight' -0.4: expected a number > 0, got -0.4\n");
}

TEST_CASE("an empty data mix", "[recipe][bad][data]") {
  CHECK(check_text(edited("    sources = {\n      ja = source { path = \"ja\", weight = 0.6 },\n"
                          "      en = source { path = \"en\", weight = 0.4 },\n    },\n",
                          "    sources = {},\n")) ==
        "x.lua:15: Invalid 'data.sources' {}: expected at least one entry, got an empty table\n");
}

TEST_CASE("a valid_fraction of one half or more", "[recipe][bad][range]") {
  CHECK(check_text(edited("tokenizer = \"tok.json\",", "tokenizer = \"tok.json\", valid_fraction = 0.5,")) ==
        "x.lua:14: Invalid 'data.valid_fraction' 0.5: expected a number in [0, 0.5), got 0.5\n");
}

// --- required fields ---------------------------------------------------------------------------

TEST_CASE("a missing required field points at its block", "[recipe][bad][required]") {
  CHECK(check_text(edited("    dim = 256,\n", "")) ==
        "x.lua:3: Invalid 'model.dim': expected an integer >= 1, got nothing\n"
        "  hint: add dim = ... to the model block\n");
}

TEST_CASE("a missing section", "[recipe][bad][required]") {
  CHECK(check_text(edited("  optim = optim {\n    lr = 1e-3,\n  },\n", "")) ==
        "x.lua:1: Invalid 'optim.lr': expected a number > 0, got nothing\n"
        "  hint: add optim = optim { lr = ... } to the recipe\n");
}

TEST_CASE("a missing name", "[recipe][bad][required]") {
  CHECK(check_text(edited("  name = \"t\",\n", "")) ==
        "x.lua:1: Invalid 'name': expected a string, got nothing\n"
        "  hint: add name = ... to the recipe block\n");
}

TEST_CASE("a run without a length", "[recipe][bad][required]") {
  CHECK(check_text(edited("    steps = 10,\n", "")) ==
        "x.lua:30: Invalid 'train.steps': expected train.steps, train.tokens or data.tokens to set the run length, "
        "got nothing\n"
        "  hint: add steps = N to the train block\n");
}

// --- layouts -----------------------------------------------------------------------------------

TEST_CASE("tp not dividing heads", "[recipe][bad][layout]") {
  CHECK(check_text(edited("microbatch = 2,", "microbatch = 2, tp = 3,")) ==
        "x.lua:21: Invalid 'parallel.tp' 3: expected a divisor of heads (8), got 3\n"
        "  hint: try 1, 2 or 4\n");
}

TEST_CASE("tp dividing heads but not kv_heads", "[recipe][bad][layout]") {
  CHECK(check_text(edited("microbatch = 2,", "microbatch = 2, tp = 8,")) ==
        "x.lua:21: Invalid 'parallel.tp' 8: expected a divisor of kv_heads (4), got 8\n"
        "  hint: try 1, 2 or 4\n");
}

TEST_CASE("pp not dividing layers", "[recipe][bad][layout]") {
  CHECK(check_text(edited("microbatch = 2,", "microbatch = 2, pp = 3,")) ==
        "x.lua:21: Invalid 'parallel.pp' 3: expected a divisor of layers (4), got 3\n"
        "  hint: try 1, 2 or 4\n");
}

TEST_CASE("kv_heads not dividing heads", "[recipe][bad][layout]") {
  CHECK(check_text(edited("kv_heads = 4", "kv_heads = 3")) ==
        "x.lua:8: Invalid 'model.kv_heads' 3: expected a divisor of heads (8), got 3\n"
        "  hint: try 1, 2, 4 or 8\n");
}

TEST_CASE("heads not dividing dim", "[recipe][bad][layout]") {
  CHECK(check_text(edited("heads = 8", "heads = 12"), {"model.kv_heads=12"}) ==
        "x.lua:7: Invalid 'model.heads' 12: expected a divisor of dim (256), got 12\n"
        "  hint: try 1, 2, 4, 8 or 16\n");
}

TEST_CASE("virtual stages without a pipeline", "[recipe][bad][layout]") {
  CHECK(check_text(edited("microbatch = 2,", "microbatch = 2, virtual_stages = 2,")) ==
        "x.lua:21: Invalid 'parallel.virtual_stages' 2: expected 1 without pipeline parallelism (pp = 1), got 2\n"
        "  hint: set parallel.pp > 1 or virtual_stages = 1\n");
}

TEST_CASE("virtual stages that do not divide the layers", "[recipe][bad][layout]") {
  CHECK(check_text(edited("microbatch = 2,", "microbatch = 2, pp = 2, virtual_stages = 3,")) ==
        "x.lua:21: Invalid 'parallel.virtual_stages' 3: expected pp*virtual_stages to divide layers (4), got 2*3 = 6\n");
}

TEST_CASE("dp*tp*pp not matching the cluster's devices", "[recipe][bad][layout]") {
  CHECK(check_text(edited("instance = \"local\"", "instance = \"p5.48xlarge\", nodes = 2"),
                   {"parallel.dp=4", "parallel.tp=2", "parallel.global_batch=16"}) ==
        "command line (parallel.dp=4): Invalid 'parallel.dp' 4: expected dp*tp*pp to equal the 16 devices "
        "(2 x p5.48xlarge with 8 each), got 4*2*1 = 8\n"
        "  hint: dp = 8 (or \"auto\")\n");
}

TEST_CASE("tp*pp not dividing the cluster's devices when dp is auto", "[recipe][bad][layout]") {
  CHECK(check_text(edited("instance = \"local\"", "instance = \"trn1.32xlarge\""),
                   {"parallel.pp=3", "parallel.tp=2", "model.layers=12"}) ==
        "command line (parallel.tp=2): Invalid 'parallel.tp' 2: expected tp*pp to divide the 16 devices "
        "(1 x trn1.32xlarge with 16 each), got tp*pp = 2*3 = 6\n");
}

TEST_CASE("global batch not divisible by microbatch*dp", "[recipe][bad][layout]") {
  CHECK(check_text(edited("global_batch = 8", "global_batch = 9")) ==
        "x.lua:22: Invalid 'parallel.global_batch' 9: expected a multiple of microbatch*dp (2*1 = 2), got 9\n"
        "  hint: nearest: 8 or 10\n");
}

TEST_CASE("microbatch larger than the global batch", "[recipe][bad][layout]") {
  CHECK(check_text(edited("microbatch = 2", "microbatch = 16")) ==
        "x.lua:21: Invalid 'parallel.microbatch' 16: expected at most global_batch (8), got 16\n");
}

TEST_CASE("ZeRO-3 with a pipeline", "[recipe][bad][layout]") {
  CHECK(check_text(edited("microbatch = 2,", "microbatch = 2, pp = 2, zero = 3,")) ==
        "x.lua:21: Invalid 'parallel.zero' 3: expected 0 or 1 with pipeline parallelism (pp = 2), got 3\n"
        "  hint: ZeRO-2/3 shard gradients across micro-steps that a pipeline interleaves; use zero = 1\n");
}

TEST_CASE("interleaving with microbatches not divisible by pp", "[recipe][bad][layout]") {
  CHECK(check_text(edited("microbatch = 2,", "microbatch = 2, pp = 2, virtual_stages = 2,"),
                   {"parallel.global_batch=6"}) ==
        "command line (parallel.global_batch=6): Invalid 'parallel.global_batch' 6: expected microbatches per "
        "replica (global_batch/(microbatch*dp) = 3) divisible by pp (2) for the interleaved schedule, got 6\n");
}

TEST_CASE("warm-up longer than the run", "[recipe][bad][schedule]") {
  CHECK(check_text(edited("lr = 1e-3,", "lr = 1e-3, warmup_steps = 20,")) ==
        "x.lua:28: Invalid 'optim.warmup_steps' 20: expected at most train.steps (10), got 20\n");
}

TEST_CASE("a minimum learning rate above the peak", "[recipe][bad][schedule]") {
  CHECK(check_text(edited("lr = 1e-3,", "lr = 1e-3, lr_min = 1e-2,")) ==
        "x.lua:28: Invalid 'optim.lr_min' 0.01: expected at most optim.lr (0.001), got 0.01\n");
}

TEST_CASE("an initialisation that is neither random, hf: nor ckpt:", "[recipe][bad][init]") {
  CHECK(check_text(edited("seq_len = 256,", "seq_len = 256, init = \"/fsx/llama\",")) ==
        "x.lua:11: Invalid 'model.init' \"/fsx/llama\": expected \"random\", \"hf:DIR\" or \"ckpt:DIR\", got "
        "\"/fsx/llama\"\n"
        "  hint: continued pre-training from Hugging Face weights: init = \"hf:/fsx/Meta-Llama-3-8B\"\n");
}

// --- files, syntax and extends -----------------------------------------------------------------

TEST_CASE("a Lua syntax error names the file and line", "[recipe][bad][syntax]") {
  CHECK(check_text(edited("    layers = 4,\n", "    layers = 4\n")) ==
        "x.lua:6: '}' expected (to close '{' at line 3) near 'dim'\n");
}

TEST_CASE("a recipe that returns nothing", "[recipe][bad][syntax]") {
  CHECK(check_text("local r = recipe { name = \"t\" }\n") ==
        "x.lua:1: Invalid recipe: expected the file to return a recipe table, got nothing\n"
        "  hint: end the file with: return recipe { name = ..., model = ..., ... }\n");
}

TEST_CASE("a recipe that returns a string", "[recipe][bad][syntax]") {
  CHECK(check_text("return \"llama\"\n") ==
        "x.lua:1: Invalid recipe: expected the file to return a recipe table, got a string\n"
        "  hint: end the file with: return recipe { name = ..., model = ..., ... }\n");
}

TEST_CASE("a runtime error in the recipe names its line", "[recipe][bad][syntax]") {
  CHECK(check_text(edited("layers = 4", "layers = 4 + nil")) ==
        "x.lua:5: attempt to perform arithmetic on a nil value\n");
}

TEST_CASE("a misspelt constructor gets did you mean", "[recipe][bad][syntax]") {
  CHECK(check_text(edited("parallel = parallel {", "parallel = paralel {")) ==
        "x.lua:20: unknown name 'paralel'; did you mean 'parallel'?\n");
}

TEST_CASE("a recipe file that does not exist", "[recipe][bad][files]") {
  recipe_dir dir;
  CHECK(check("missing.lua") == "missing.lua: cannot read the recipe: No such file or directory\n");
}

TEST_CASE("extends naming a recipe that does not exist", "[recipe][bad][extends]") {
  recipe_dir dir;
  dir.write("base.lua", base_recipe);
  CHECK(check(dir.write("x.lua", "return recipe { extends = \"bsae\", name = \"x\" }\n")) ==
        "x.lua:1: Invalid 'extends' \"bsae\": expected a recipe in the recipe's folder, WB_RECIPE_PATH or recipes/, "
        "got no such recipe\n"
        "  hint: did you mean 'base'?\n");
}

TEST_CASE("an extends cycle names the files around it", "[recipe][bad][extends]") {
  recipe_dir dir;
  dir.write("a.lua", "return recipe {\n  extends = \"b\",\n  name = \"a\",\n}\n");
  dir.write("b.lua", "return recipe {\n  name = \"b\",\n  extends = \"a\",\n}\n");
  CHECK(check("a.lua") ==
        "b.lua:3: Invalid 'extends' \"a\": expected a base recipe that does not extend this one, got the cycle "
        "a.lua -> b.lua -> a.lua\n");
}

TEST_CASE("a recipe extending itself is a cycle", "[recipe][bad][extends]") {
  recipe_dir dir;
  CHECK(check(dir.write("self.lua", "return recipe { extends = \"self\", name = \"s\" }\n")) ==
        "self.lua:1: Invalid 'extends' \"self\": expected a base recipe that does not extend this one, got the "
        "cycle self.lua -> self.lua\n");
}

TEST_CASE("a mistake in a base recipe is charged to the base's file and line", "[recipe][bad][extends]") {
  recipe_dir dir;
  dir.write("base.lua", edited("layers = 4", "layers = -4"));
  CHECK(check(dir.write("x.lua", "return recipe {\n  extends = \"base\",\n  name = \"x\",\n}\n")) ==
        "base.lua:5: Invalid 'model.layers' -4: expected an integer >= 1, got -4\n");
}

// --- overrides ---------------------------------------------------------------------------------

TEST_CASE("an override naming a missing key", "[recipe][bad][override]") {
  CHECK(check_text(base_recipe, {"parallel.microbatchh=4"}) ==
        "command line (parallel.microbatchh=4): Invalid 'parallel.microbatchh': expected a key of the recipe, got "
        "no such key\n"
        "  hint: did you mean 'parallel.microbatch'?\n");
}

TEST_CASE("an override with a value of the wrong type", "[recipe][bad][override]") {
  CHECK(check_text(base_recipe, {"parallel.microbatch=four"}) ==
        "command line (parallel.microbatch=four): Invalid 'parallel.microbatch' \"four\": expected an integer >= 1, "
        "got a string \"four\"\n");
}

TEST_CASE("an override naming a data source that does not exist", "[recipe][bad][override]") {
  CHECK(check_text(base_recipe, {"data.sources.jp.weight=2"}) ==
        "command line (data.sources.jp.weight=2): Invalid 'data.sources.jp': expected an existing entry of "
        "'data.sources' (ja or en), got 'jp'\n"
        "  hint: did you mean 'ja'?\n");
}

TEST_CASE("an override of a whole section", "[recipe][bad][override]") {
  CHECK(check_text(base_recipe, {"parallel=4"}) ==
        "command line (parallel=4): Invalid 'parallel': expected a single field such as parallel.dp, got a whole "
        "section\n");
}

TEST_CASE("every error is reported at once", "[recipe][bad]") {
  std::string text = edited("layers = 4", "layers = 0", edited("lr = 1e-3", "lr = \"fast\""));
  CHECK(check_text(text, {"parallel.tpp=2"}) ==
        "command line (parallel.tpp=2): Invalid 'parallel.tpp': expected a key of the recipe, got no such key\n"
        "  hint: did you mean 'parallel.tp'?\n"
        "x.lua:5: Invalid 'model.layers' 0: expected an integer >= 1, got 0\n"
        "x.lua:28: Invalid 'optim.lr' \"fast\": expected a number > 0, got a string \"fast\"\n");
}

TEST_CASE("optimizer offload is refused at its line, not ignored", "[recipe][bad][layout]") {
  CHECK(check_text(edited("microbatch = 2,", "microbatch = 2, offload = true,")) ==
        "x.lua:21: Invalid 'parallel.offload' true: expected false, got true\n"
        "  hint: offloading optimizer states is not implemented yet; use parallel.zero to shard them instead\n");
}

TEST_CASE("sequence parallel over a sequence tp does not divide", "[recipe][bad][layout]") {
  CHECK(check_text(edited("microbatch = 2,", "microbatch = 2, tp = 2, sequence_parallel = true,"), {"model.seq_len=255"}) ==
        "x.lua:21: Invalid 'parallel.sequence_parallel' true: expected false, or a model.seq_len (255) that parallel.tp "
        "(2) divides, got true\n"
        "  hint: set sequence_parallel = false or make seq_len a multiple of tp\n");
}

TEST_CASE("a string where overlap_grad_reduce's boolean belongs, at its line", "[recipe][bad][types]") {
  CHECK(check_text(edited("microbatch = 2,", "microbatch = 2, overlap_grad_reduce = \"yes\",")) ==
        "x.lua:21: Invalid 'parallel.overlap_grad_reduce' \"yes\": expected true or false, got a string \"yes\"\n");
  CHECK(check_text(edited("microbatch = 2,", "microbatch = 2, overlap_grad_reduce = false,")) == "");
}
