// The conversation survives a reload — transcript and dialogue state (an order form half filled
// goes on where it stopped) — and "clear conversation" forgets it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openPage, useServerAndBrowser } from "./harness.js";

const env = useServerAndBrowser();

async function openChat(page) {
  await page.getByRole("button", { name: "打开聊天" }).click();
  const log = page.getByRole("log", { name: "聊天记录" });
  await log.getByRole("article", { name: "机器人" }).first().waitFor();
  return log;
}

async function say(page, log, text) {
  const bot = log.getByRole("article", { name: "机器人" });
  const before = await bot.count();
  const input = page.getByRole("textbox", { name: "输入消息" });
  await input.fill(text);
  await input.press("Enter");
  await bot.nth(before).waitFor({ timeout: 5000 });
}

test("a reload keeps the transcript and the half-filled form; clearing forgets both", async () => {
  const { context, page, problems } = await openPage(env.browser, env.baseUrl, "zh-CN");
  let log = await openChat(page);
  await say(page, log, "请问什么时候发货");
  await say(page, log, "帮我查一下订单");
  await log.getByRole("article", { name: "机器人" }).last().filter({ hasText: "请告诉我您的订单号" }).waitFor();
  const before = await log.getByRole("article").allInnerTexts();

  await page.reload();
  log = await openChat(page);
  await log.getByRole("article", { name: "我" }).filter({ hasText: "请问什么时候发货" }).waitFor();
  assert.deepEqual(await log.getByRole("article").allInnerTexts(), before, "the same transcript, the welcome once");

  // The form goes on: the order number is taken as the answer to the restored question.
  await say(page, log, "AB12345678");
  await log.getByRole("article", { name: "机器人" }).filter({ hasText: "正在为您查询订单AB12345678" }).waitFor();

  await page.getByRole("button", { name: "清空对话" }).click();
  assert.equal(await log.getByRole("article").count(), 1, "only the welcome is left");
  await page.reload();
  log = await openChat(page);
  assert.equal(await log.getByRole("article").count(), 1);
  assert.deepEqual(problems, []);
  await context.close();
});
