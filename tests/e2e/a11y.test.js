// Accessibility, in zh and en and in the dark theme: axe-core finds no serious or critical
// violation with every kind of message on screen, and the widget works from the keyboard alone
// (Tab to the launcher, Enter opens with focus in the input, Escape closes and gives focus back
// to the launcher, focus always visible).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { openTestPage, repo, scriptTagPage, trainModel, useServerAndBrowser } from "./harness.js";

const env = useServerAndBrowser();
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
let richModel;
before(async () => {
  richModel = await trainModel(join(repo, "tests/e2e/fixtures/rich-bot"), "rich-bot");
});

const cases = [
  { lang: "zh-CN", locale: "zh-CN", model: "/models/shop-zh.chatlet", labels: { open: "打开聊天", close: "关闭聊天", log: "聊天记录", bot: "机器人", input: "输入消息" }, questions: ["我的订单到哪了", "什么时候发货", "asdfgh qwerty"] },
  { lang: "en", locale: "en-US", model: "/test-models/rich.chatlet", labels: { open: "Open chat", close: "Close chat", log: "Messages", bot: "Bot", input: "Type a message" }, questions: ["when do you ship", "where is the store", "return policy"] },
  { lang: "en", locale: "en-US", theme: "dark", model: "/test-models/rich.chatlet", labels: { open: "Open chat", close: "Close chat", log: "Messages", bot: "Bot", input: "Type a message" }, questions: ["when do you ship", "where is the store", "return policy"] },
];

async function axeViolations(page) {
  await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    const results = await window.axe.run(document, { resultTypes: ["violations"] });
    return results.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" > ")).join(", ")}`);
  });
}

for (const c of cases) {
  test(`keyboard only, then axe-core is clean (${c.lang}${c.theme ? `, ${c.theme}` : ""})`, async () => {
    const attributes = { model: c.model, lang: c.lang, ...(c.theme ? { theme: c.theme } : {}) };
    const html = scriptTagPage({ lang: c.lang, attributes, body: "<main><h1>Shop</h1><p>Welcome to the shop.</p></main>" });
    const { context, page, problems } = await openTestPage(env.browser, env.baseUrl, { html, models: { rich: richModel }, locale: c.locale });
    const launcher = page.getByRole("button", { name: c.labels.open });
    await launcher.waitFor();
    // Tab reaches the launcher (the page has nothing else to focus), with a visible focus ring.
    await page.keyboard.press("Tab");
    assert.equal(await launcher.evaluate((e) => e.matches(":focus")), true, "Tab focuses the launcher");
    await page.keyboard.press("Enter");
    const input = page.getByRole("textbox", { name: c.labels.input });
    const log = page.getByRole("log", { name: c.labels.log });
    await log.getByRole("article", { name: c.labels.bot }).first().waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => document.querySelector("chatlet-widget").shadowRoot.activeElement?.tagName === "INPUT", null, { timeout: 5000 });
    for (const question of c.questions) {
      const count = await log.getByRole("article", { name: c.labels.bot }).count();
      await page.keyboard.type(question);
      await page.keyboard.press("Enter");
      await log.getByRole("article", { name: c.labels.bot }).nth(count).waitFor({ timeout: 5000 });
    }
    assert.equal(await log.getAttribute("aria-live"), "polite");
    // Every control is reachable: Tab moves from the input to the send button, and onwards.
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const e = document.querySelector("chatlet-widget").shadowRoot.activeElement;
      const s = getComputedStyle(e);
      return { label: e.getAttribute("aria-label") ?? e.textContent, outline: s.outlineStyle, width: s.outlineWidth };
    });
    assert.notEqual(focused.outline, "none", `visible focus on ${focused.label}`);
    assert.deepEqual(await axeViolations(page), []);
    // Escape closes and returns focus to the launcher, whose name says the chat is closed again.
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "detached" });
    const back = page.getByRole("button", { name: c.labels.open });
    assert.equal(await back.evaluate((e) => e.matches(":focus")), true, "focus is back on the launcher");
    assert.deepEqual(await axeViolations(page), []);
    assert.deepEqual(problems, []);
    await context.close();
  });
}

test("at phone width the panel fills the screen", async () => {
  const html = scriptTagPage({ lang: "en", attributes: { model: "/test-models/rich.chatlet", lang: "en", open: true } });
  const { context, page, problems } = await openTestPage(env.browser, env.baseUrl, { html, models: { rich: richModel }, viewport: { width: 390, height: 740 } });
  const panel = page.getByRole("dialog");
  await panel.waitFor({ timeout: 10_000 });
  const box = await panel.boundingBox();
  assert.deepEqual([Math.round(box.width), Math.round(box.height)], [390, 740]);
  assert.deepEqual(await axeViolations(page), []);
  assert.deepEqual(problems, []);
  await context.close();
});
