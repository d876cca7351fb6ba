// Odd input typed into the widget in real Chromium: empty, whitespace, 10,000 characters, emoji,
// right-to-left and mixed zh/en text. Nothing may panic, and the widget must keep answering.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openPage, useServerAndBrowser } from "./harness.js";

const env = useServerAndBrowser();

test("no panic and no stuck widget on any input", async () => {
  const { context, page, problems } = await openPage(env.browser, env.baseUrl, "zh-CN");
  await page.getByRole("button", { name: "打开聊天" }).click();
  const log = page.getByRole("log", { name: "聊天记录" });
  const visitor = log.getByRole("article", { name: "我" });
  const bot = log.getByRole("article", { name: "机器人" });
  const input = page.getByRole("textbox", { name: "输入消息" });
  await bot.first().waitFor(); // the welcome: the model is loaded

  // Blank input sends nothing.
  for (const blank of ["", "   ", "\t \u3000 "]) {
    const before = await visitor.count();
    await input.fill(blank);
    await input.press("Enter");
    await page.waitForTimeout(100);
    assert.equal(await visitor.count(), before, `blank input ${JSON.stringify(blank)} must not be sent`);
  }

  const odd = [
    "发货".repeat(5000), // 10,000 characters
    "😀🎉👍🏽👨‍👩‍👧‍👦",
    "مرحبا، أين طلبي؟",
    "שלום, מתי המשלוח?",
    "我的order什么时候ship？Thanks!",
    "\u200b\u202e反转\u202c 零宽",
    "a".repeat(300) + " " + "🙂".repeat(300),
  ];
  for (const text of odd) {
    const before = await bot.count();
    await input.fill(text);
    await input.press("Enter");
    await bot.nth(before).waitFor({ timeout: 10_000 });
    const article = await visitor.last().textContent();
    // The article is the hidden "我: " prefix for screen readers, the message exactly as sent, then its time.
    assert.match(article, /\d{2}:\d{2}$/, "the message shows its time");
    const shown = article.replace(/\d{2}:\d{2}$/, "");
    assert.ok(shown === `我: ${text}`, `message of ${text.length} chars shown as typed (got ${shown.length} chars: ${shown.slice(0, 40)}…)`);
  }

  // Typed key by key, as a person would, and still answered correctly afterwards.
  await input.pressSequentially("退货流程是什么");
  await input.press("Enter");
  await bot.nth(odd.length + 1).waitFor({ timeout: 10_000 });
  assert.match(await bot.last().innerText(), /7天内可以无理由退货/);
  assert.deepEqual(problems, []);
  await context.close();
});
