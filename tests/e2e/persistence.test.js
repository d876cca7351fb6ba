// The conversation survives a reload — transcript and dialogue state (an order form half filled
// goes on where it stopped), rich messages and context slots — and "clear conversation" forgets
// it; in zh (the demo shop) and en (the rich test bot).
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { openPage, openTestPage, repo, scriptTagPage, trainModel, useServerAndBrowser } from "./harness.js";

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

test("in English: Markdown, images, quick replies and context slots survive a reload", async () => {
  const model = await trainModel(join(repo, "tests/e2e/fixtures/rich-bot"), "rich-bot");
  const html = scriptTagPage({ attributes: { model: "/test-models/rich.chatlet", lang: "en" } });
  const { context, page, problems } = await openTestPage(env.browser, env.baseUrl, { html, models: { rich: model } });
  const open = async () => {
    await page.getByRole("button", { name: "Open chat" }).click();
    const log = page.getByRole("log", { name: "Messages" });
    await log.getByRole("article", { name: "Bot" }).first().waitFor({ timeout: 10_000 });
    return log;
  };
  let log = await open();
  await page.evaluate(() => window.chatlet.setContext({ name: "Mei" }));
  for (const question of ["when do you ship", "where is the store", "return policy"]) {
    const count = await log.getByRole("article", { name: "Bot" }).count();
    await page.getByRole("textbox", { name: "Type a message" }).fill(question);
    await page.getByRole("textbox", { name: "Type a message" }).press("Enter");
    await log.getByRole("article", { name: "Bot" }).nth(count).waitFor({ timeout: 5000 });
  }
  const before = await log.getByRole("article").allInnerTexts();

  await page.reload();
  log = await open();
  await log.getByRole("article", { name: "You" }).filter({ hasText: "return policy" }).waitFor();
  assert.deepEqual(await log.getByRole("article").allInnerTexts(), before);
  assert.ok(await log.getByRole("link", { name: "help center" }).isVisible());
  assert.ok(await log.getByRole("img", { name: "Image" }).isVisible());
  // The restored quick replies still work, and the context slot was kept with the dialogue state.
  await log.getByRole("group", { name: "Suggested replies" }).last().getByRole("button", { name: "Talk to a person" }).click();
  await log.getByRole("article", { name: "Bot" }).last().filter({ hasText: "Hello Mei" }).waitFor({ timeout: 5000 });

  await page.getByRole("button", { name: "Clear conversation" }).click();
  assert.equal(await log.getByRole("article").count(), 1, "only the welcome is left");
  assert.deepEqual(problems, []);
  await context.close();
});
