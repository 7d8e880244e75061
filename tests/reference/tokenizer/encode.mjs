// Reference encoder for wb's tokenizer comparison test: transformers.js's tokenizer (the
// @lenml/tokenizers fork, pinned in package-lock.json) loading a local tokenizer.json.
//   node encode.mjs TOKENIZER_JSON CORPUS_JSONL      one line of ids per document (a JSON string per line)
//   node encode.mjs TOKENIZER_JSON CORPUS_JSONL --bench REPS [--lines]   prints "seconds bytes" of the fastest
// Encoding: add_special_tokens false (no BOS), added tokens in the text are matched.
import { readFileSync } from "node:fs";
import { TokenizerLoader } from "@lenml/tokenizers";

const [tokPath, corpusPath, mode, reps] = process.argv.slice(2);
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(tokPath, "utf8")),
  tokenizerConfig: {},
});
const docs = readFileSync(corpusPath, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
const encode = (d) => tokenizer.encode(d, { add_special_tokens: false });

if (mode === "--bench") {
  const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d, "utf8"), 0);
  const times = [];
  for (let r = 0; r < Number(reps || 1); ++r) {
    tokenizer.model.clear_cache?.();  // cold BPE cache each repetition, as wb's bench does
    const t0 = process.hrtime.bigint();
    let count = 0;
    for (const d of docs) count += encode(d).length;
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(times.join(" "), bytes);
} else {
  const out = [];
  for (const d of docs) out.push(encode(d).join(" "));
  process.stdout.write(out.join("\n") + "\n");
}
