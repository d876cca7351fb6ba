// Actions the page registers: the bot asks for one (here the shop bot's `check_order`, after the
// order-status form), the page's handler answers; without a handler, or when it throws, the
// action's fallback from the bot file answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openPage, useServerAndBrowser } from "./harness.js";

const env = useServerAndBrowser();

async function openChat(page) {
  await page.getByRole("button", { name: "打开聊天" }).click();
  const log = page.getByRole("log", { name: "聊天记录" });
  await log.getByRole("article", { name: "机器人" }).first().waitFor(); // the welcome: the model is loaded
  return log;
}

async function ask(page, log, text) {
  const bot = log.getByRole("article", { name: "机器人" });
  const before = await bot.count();
  await page.getByRole("textbox", { name: "输入消息" }).fill(text);
  await page.getByRole("textbox", { name: "输入消息" }).press("Enter");
  await assert.doesNotReject(() => bot.nth(before).waitFor({ timeout: 5000 }));
}

test("a registered action answers, and the fallback covers a missing or failing one", async () => {
  const { context, page, problems } = await openPage(env.browser, env.baseUrl, "zh-CN");
  const log = await openChat(page);
  const lastBot = () => log.getByRole("article", { name: "机器人" }).last();

  // No handler: the bot file's fallback, with the slot filled in.
  await ask(page, log, "查一下订单AB12345678");
  await lastBot().filter({ hasText: "订单AB12345678已发货" }).waitFor({ timeout: 5000 });

  // A handler that answers from the slots.
  await page.evaluate(() => {
    window.calls = [];
    window.chatlet.registerAction("check_order", async (slots) => {
      window.calls.push(slots);
      await new Promise((r) => setTimeout(r, 50));
      return `订单${slots.order}已签收，签收人：前台。`;
    });
  });
  await ask(page, log, "帮我查一下订单CD87654321");
  await lastBot().filter({ hasText: "订单CD87654321已签收，签收人：前台。" }).waitFor({ timeout: 5000 });
  assert.deepEqual(await page.evaluate(() => window.calls), [{ order: "CD87654321" }]);

  // A handler that throws: the fallback answers and nothing else breaks.
  await page.evaluate(() => window.chatlet.registerAction("check_order", () => { throw new Error("backend down"); }));
  await ask(page, log, "订单EF11223344到哪了");
  await lastBot().filter({ hasText: "订单EF11223344已发货" }).waitFor({ timeout: 5000 });

  // The expected console error names the failing action; nothing else went wrong.
  assert.deepEqual(problems.filter((p) => !p.includes("action `check_order` failed")), []);
  await context.close();
});

test("quick replies: an ambiguous question offers buttons, and a button answers", async () => {
  const { context, page, problems } = await openPage(env.browser, env.baseUrl, "zh-CN");
  const log = await openChat(page);
  await ask(page, log, "退");
  const choices = log.getByRole("group", { name: "快捷回复" }).last();
  await choices.getByRole("button", { name: "我想退货" }).waitFor({ timeout: 5000 });
  const bot = log.getByRole("article", { name: "机器人" });
  const before = await bot.count();
  await choices.getByRole("button", { name: "我想退货" }).click();
  // The visitor sees the button's title, not its payload (/return_policy).
  await log.getByRole("article", { name: "我" }).last().filter({ hasText: "我想退货" }).waitFor();
  assert.equal(await log.getByText("/return_policy").count(), 0);
  await bot.nth(before).filter({ hasText: "7天内可以无理由退货" }).waitFor({ timeout: 5000 });
  assert.deepEqual(problems, []);
  await context.close();
});
