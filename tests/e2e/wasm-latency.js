// Benchmark (run by `cargo xtask bench`, not a test): p50 latency of the engine compiled to wasm
// in headless Chromium, one utterance at a time through `NluModel.understand` (exported by the
// authors' build in pkg/playground, the same engine code as the widget).
// Browsers coarsen `performance.now()`, so each utterance is timed over REPEATS calls and the
// mean is its latency; the median over utterances is reported.
// usage: node wasm-latency.js MODEL TEST.jsonl OUT.json
import { readFileSync, writeFileSync } from "node:fs";
import { launchBrowser, openPage, startServer } from "./harness.js";

const [model, testSet, out] = process.argv.slice(2);
const UTTERANCES = 1000;
const REPEATS = 64;

const texts = readFileSync(testSet, "utf8").trim().split("\n").slice(0, UTTERANCES).map((l) => JSON.parse(l).text);
const server = startServer();
const browser = await launchBrowser();
try {
  const { page, problems } = await openPage(browser, await server.url, "en-US");
  const result = await page.evaluate(async ({ bytes, texts, repeats }) => {
    const wasm = await import("/pkg/playground/chatlet_playground.js");
    await wasm.default();
    const nlu = new wasm.NluModel(new Uint8Array(bytes));
    for (const text of texts.slice(0, 20)) nlu.understand(text);
    const micros = texts.map((text) => {
      const started = performance.now();
      for (let i = 0; i < repeats; i++) nlu.understand(text);
      return ((performance.now() - started) * 1000) / repeats;
    });
    micros.sort((a, b) => a - b);
    const at = (q) => micros[Math.min(micros.length - 1, Math.floor(micros.length * q))];
    return { latency_us_median: at(0.5), latency_us_p90: at(0.9), utterances: micros.length, repeats };
  }, { bytes: [...readFileSync(model)], texts, repeats: REPEATS });
  if (problems.length) throw new Error(problems.join("\n"));
  result.browser = browser.version();
  writeFileSync(out, JSON.stringify(result, null, 1));
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  server.stop();
}
