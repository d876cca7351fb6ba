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
// A bot with every kind of entity: learned, lookup with synonyms, pattern, built-ins with dates.
const bot = join(repo, "crates", "chatlet-engine", "tests", "fixtures", "weather-bot.yaml");
const now = "2026-11-22T10:00";

test("wasm predictions are identical to native ones", async () => {
  const dir = mkdtempSync(join(tmpdir(), "chatlet-nlu-"));
  const model = join(dir, "model.chatlet");
  execFileSync(chatletBin, ["train", bot, "-o", model], { stdio: "pipe" });
  const inputs = join(fixtures, "nlu-inputs.jsonl");
  const native = execFileSync(chatletBin, ["predict", "--model", model, "--now", now, inputs], { encoding: "utf8" })
    .trim().split("\n").map((line) => JSON.parse(line));
  const texts = readFileSync(inputs, "utf8").trim().split("\n").map((line) => JSON.parse(line).text);
  assert.equal(native.length, texts.length);
  // The fixture model must really find something, or the comparison proves little.
  const kinds = new Set(native.flatMap((p) => p.entities.map((e) => e.entity)));
  for (const kind of ["city", "when", "at", "order", "amount", "phone"]) assert.ok(kinds.has(kind), `no ${kind} found`);
  assert.ok(native.some((p) => p.intent === "weather") && native.some((p) => p.intent === "oos"));

  const { context, page, problems } = await openPage(env.browser, env.baseUrl, "en-US");
  const inBrowser = await page.evaluate(async ({ bytes, texts, now }) => {
    const wasm = await import("/pkg/playground/chatlet_playground.js");
    await wasm.default();
    const nlu = new wasm.NluModel(new Uint8Array(bytes));
    return texts.map((text) => JSON.parse(nlu.understand(text, now)));
  }, { bytes: [...readFileSync(model)], texts, now });
  assert.deepEqual(inBrowser, native);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a damaged model is refused with an error, not a panic", async () => {
  const { context, page, problems } = await openPage(env.browser, env.baseUrl, "en-US");
  const message = await page.evaluate(async () => {
    const wasm = await import("/pkg/playground/chatlet_playground.js");
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
