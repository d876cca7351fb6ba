// The same model must predict exactly the same in the browser (wasm) as natively (the CLI):
// intent, confidence, ranking and entities, for ordinary and hostile input alike.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chatletBin, openPage, repo, useServerAndBrowser } from "./harness.js";

const env = useServerAndBrowser();
const fixtures = join(repo, "tests", "e2e", "fixtures");

test("wasm predictions are identical to native ones", async () => {
  const dir = mkdtempSync(join(tmpdir(), "chatlet-nlu-"));
  const model = join(dir, "model.chatlet");
  execFileSync(chatletBin, ["train", join(fixtures, "nlu-train.jsonl"), "-o", model], { stdio: "pipe" });
  const inputs = join(fixtures, "nlu-inputs.jsonl");
  const native = execFileSync(chatletBin, ["predict", "--model", model, inputs], { encoding: "utf8" })
    .trim().split("\n").map((line) => JSON.parse(line));
  const texts = readFileSync(inputs, "utf8").trim().split("\n").map((line) => JSON.parse(line).text);
  assert.equal(native.length, texts.length);
  // The fixture model must really find something, or the comparison proves little.
  assert.ok(native.some((p) => p.entities.length > 0) && native.some((p) => p.intent === "weather"));

  const { context, page, problems } = await openPage(env.browser, env.baseUrl, "en-US");
  const inBrowser = await page.evaluate(async ({ bytes, texts }) => {
    const wasm = await import("/pkg/chatlet_widget.js");
    await wasm.default();
    const nlu = new wasm.NluModel(new Uint8Array(bytes));
    return texts.map((text) => JSON.parse(nlu.understand(text)));
  }, { bytes: [...readFileSync(model)], texts });
  assert.deepEqual(inBrowser, native);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a damaged model is refused with an error, not a panic", async () => {
  const { context, page, problems } = await openPage(env.browser, env.baseUrl, "en-US");
  const message = await page.evaluate(async () => {
    const wasm = await import("/pkg/chatlet_widget.js");
    await wasm.default();
    try {
      new wasm.NluModel(new TextEncoder().encode("not a model"));
      return "accepted";
    } catch (e) {
      return String(e.message);
    }
  });
  assert.match(message, /not a chatlet model/);
  assert.deepEqual(problems, []);
  await context.close();
});
