// What a bot message can hold, rendered in real Chromium: Markdown (lists, bold, links that open
// safely), an image, a link card, timestamps, quick replies, the typing indicator while a page
// action runs; and the page API: on(...) events, setContext, and options that are wrong but not fatal.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { openTestPage, repo, scriptTagPage, trainModel, useServerAndBrowser } from "./harness.js";

const env = useServerAndBrowser();
let model;
before(async () => {
  model = await trainModel(join(repo, "tests/e2e/fixtures/rich-bot"), "rich-bot");
});

async function openRich(extraAttributes = {}) {
  const html = scriptTagPage({ attributes: { model: "/test-models/rich.chatlet", lang: "en", ...extraAttributes } });
  const opened = await openTestPage(env.browser, env.baseUrl, { html, models: { rich: model } });
  await opened.page.waitForFunction(() => window.chatlet?.ready === true, null, { timeout: 10_000 });
  return opened;
}

async function ask(page, text) {
  const bot = page.getByRole("log", { name: "Messages" }).getByRole("article", { name: "Bot" });
  const before = await bot.count();
  const input = page.getByRole("textbox", { name: "Type a message" });
  await input.fill(text);
  await input.press("Enter");
  await bot.nth(before).waitFor({ timeout: 5000 });
  return bot.nth(before);
}

test("Markdown, images, link cards and times are rendered as elements, links open safely", async () => {
  const { context, page, problems } = await openRich({ open: true });
  const welcome = page.getByRole("log", { name: "Messages" }).getByRole("article", { name: "Bot" }).first();
  await welcome.waitFor();
  assert.equal(await welcome.locator("strong").textContent(), "shipping");

  const shipping = await ask(page, "when do you ship");
  assert.deepEqual(await shipping.getByRole("listitem").allTextContents(), ["pay", "we pack", "it ships"]);
  assert.equal(await shipping.getByRole("list").evaluate((e) => e.tagName), "OL");
  const help = shipping.getByRole("link", { name: "help center" });
  assert.equal(await help.getAttribute("href"), "https://example.com/help");
  assert.equal(await help.getAttribute("target"), "_blank");
  assert.match(await help.getAttribute("rel"), /noopener/);
  assert.equal(await shipping.getByRole("link", { name: "https://example.com/shipping" }).getAttribute("href"), "https://example.com/shipping");
  // The article's name carries the time, which is also shown.
  const label = await shipping.getAttribute("aria-label");
  assert.match(label, /^Bot, \d{1,2}:\d{2}/);
  assert.ok((await shipping.textContent()).includes(label.slice("Bot, ".length)));

  const map = await ask(page, "where is the store");
  assert.equal(await map.getByRole("img", { name: "Image" }).getAttribute("src"), "/test-files/store-map.png");
  const card = map.getByRole("link", { name: /Store directions/ });
  assert.equal(await card.getAttribute("href"), "https://example.com/directions");
  assert.match(await card.textContent(), /example\.com/);

  const returns = await ask(page, "return policy");
  const replies = returns.getByRole("group", { name: "Suggested replies" });
  await replies.getByRole("button", { name: "Shipping" }).click();
  await page.getByRole("log", { name: "Messages" }).getByRole("article", { name: "Bot" }).last().filter({ hasText: "48 hours" }).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test("the typing indicator shows while a page action works", async () => {
  const { context, page, problems } = await openRich({ open: true });
  await page.evaluate(() => {
    window.chatlet.registerAction("check_stock", () => new Promise((resolve) => { window.finishStock = () => resolve("In stock: 12 left."); }));
  });
  const input = page.getByRole("textbox", { name: "Type a message" });
  await input.fill("is it in stock");
  await input.press("Enter");
  const typing = page.getByRole("status", { name: "The bot is typing…" });
  await typing.waitFor({ timeout: 5000 });
  await page.evaluate(() => window.finishStock());
  await page.getByRole("log", { name: "Messages" }).getByRole("article", { name: "Bot" }).last().filter({ hasText: "In stock: 12 left." }).waitFor();
  await typing.waitFor({ state: "detached", timeout: 5000 });
  assert.deepEqual(problems, []);
  await context.close();
});

test("on() reports messages, open, close and the connection; setContext fills slots; off() stops", async () => {
  const { context, page, problems } = await openRich();
  const seen = await page.evaluate(async () => {
    const events = [];
    const chat = window.chatlet;
    chat.on("connection", (c) => events.push(`connection:${c.state}`));
    const onMessage = (m) => events.push(`${m.author}:${m.text}:${typeof m.time}`);
    chat.on("message", onMessage);
    chat.on("open", () => events.push("open"));
    chat.on("close", () => events.push("close"));
    chat.open();
    chat.setContext({ name: "Mei", visits: 3, member: true });
    chat.send("hello");
    chat.close();
    chat.off("message", onMessage);
    chat.send("when do you ship");
    const errors = [];
    for (const bad of [() => chat.on("typo", () => {}), () => chat.setContext("Mei"), () => chat.setContext({ name: { first: "Mei" } })]) {
      try { bad(); } catch (e) { errors.push(`${e.name}: ${e.message}`); }
    }
    return { events, errors };
  });
  assert.deepEqual(seen.events, [
    "connection:local",
    "open",
    "visitor:hello:number",
    "bot:Hello Mei, nice to see you again!:number",
    "close",
  ]);
  assert.equal(seen.errors.length, 3);
  assert.match(seen.errors[0], /TypeError: .*unknown event "typo"/);
  assert.match(seen.errors[1], /TypeError: .*expects an object/);
  assert.match(seen.errors[2], /TypeError: .*`name` must be a string, number or boolean/);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a bad option is reported on the console and the widget still works", async () => {
  const { context, page, problems } = await openRich({ lang: "fr-FR", theme: "purple"});
  await page.getByRole("button", { name: "Open chat" }).click();
  await ask(page, "return policy");
  assert.ok(problems.some((p) => /option `lang` must be/.test(p)), problems.join("\n"));
  assert.ok(problems.some((p) => /option `theme` must be/.test(p)), problems.join("\n"));
  await context.close();
});
