// The launcher counts bot messages that arrive while the panel is closed (in its accessible name
// and as a badge), and the widget's labels follow Traditional Chinese browsers (zh-TW).
import { test } from "node:test";
import assert from "node:assert/strict";
import { openPage, useServerAndBrowser } from "./harness.js";

const env = useServerAndBrowser();

test("unread bot messages are counted on the closed launcher and cleared on open", async () => {
  const { context, page, problems } = await openPage(env.browser, env.baseUrl, "zh-CN");
  await page.waitForFunction(() => window.chatlet?.ready === true, null, { timeout: 10_000 });
  await page.evaluate(() => { window.chatlet.send("请问什么时候发货"); window.chatlet.send("能用支付宝吗"); });
  const launcher = page.getByRole("button", { name: "打开聊天，2 条未读消息" });
  await launcher.waitFor({ timeout: 5000 });
  await launcher.click();
  await page.getByRole("log", { name: "聊天记录" }).getByRole("article", { name: "机器人" }).last().filter({ hasText: "支付宝" }).waitFor();
  await page.keyboard.press("Escape");
  await page.getByRole("button", { name: "打开聊天", exact: true }).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test("labels follow a Traditional Chinese browser", async () => {
  const { context, page, problems } = await openPage(env.browser, env.baseUrl, "zh-TW");
  await page.getByRole("button", { name: "打開聊天" }).click();
  await page.getByRole("log", { name: "聊天記錄" }).waitFor();
  await page.getByRole("textbox", { name: "輸入訊息" }).waitFor();
  await page.getByRole("button", { name: "傳送" }).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test("the launcher shows at once and the wasm loads only when opened (or once the page is idle)", async () => {
  const context = await env.browser.newContext({ locale: "zh-CN" });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  const wasmRequests = [];
  page.on("request", (r) => { if (r.url().endsWith(".wasm")) wasmRequests.push(r.url()); });
  await page.goto(env.baseUrl);
  const launcher = page.getByRole("button", { name: "打开聊天" });
  await launcher.waitFor();
  await page.waitForTimeout(300);
  assert.deepEqual(wasmRequests, [], "no wasm before the visitor opens the chat or the page is idle");
  await launcher.click();
  await page.getByRole("log", { name: "聊天记录" }).getByRole("article", { name: "机器人" }).first().waitFor({ timeout: 10_000 });
  assert.equal(wasmRequests.length, 1);
  assert.deepEqual(problems, []);
  await context.close();
});
