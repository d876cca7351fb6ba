// The demo page in real Chromium: open the widget, ask in Chinese and English, then cut the
// network to the server and ask again: the answer must still come, from the wasm engine alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { artifacts, openPage, useServerAndBrowser } from "./harness.js";

const env = useServerAndBrowser();

/** Types `question` into the widget, presses Enter, and returns the text of the bot's next reply. */
async function ask(page, labels, question) {
  const log = page.getByRole("log", { name: labels.log });
  const replies = log.getByRole("article", { name: labels.bot });
  const before = await replies.count();
  const input = page.getByRole("textbox", { name: labels.input });
  await input.fill(question);
  await input.press("Enter");
  await replies.nth(before).waitFor({ timeout: 10_000 });
  assert.equal(await input.inputValue(), "", "the input is cleared after sending");
  return replies.nth(before).innerText();
}

const zh = { open: "打开聊天", log: "聊天记录", input: "输入消息", bot: "机器人" };
const en = { open: "Open chat", log: "Messages", input: "Type a message", bot: "Bot" };

test("answers Chinese and English questions in the browser, and keeps answering offline", async () => {
  const { context, page, problems } = await openPage(env.browser, env.baseUrl, "zh-CN");
  await page.getByRole("button", { name: zh.open }).click();
  const welcome = page.getByRole("log", { name: zh.log }).getByRole("article", { name: zh.bot }).first();
  assert.match(await welcome.innerText(), /小铺客服助手/);

  assert.match(await ask(page, zh, "请问什么时候发货？"), /48小时内发货/);
  assert.match(await ask(page, zh, "how do I return an item"), /return any unused item within 7 days/);
  assert.match(await ask(page, zh, "今天的股票行情"), /没有听懂/);

  assert.deepEqual(problems, [], "no errors while online");

  // Cut every request; prove the cut is real, then ask again.
  let blocked = 0;
  await context.route("**/*", (route) => { blocked += 1; return route.abort(); });
  const reachable = await page.evaluate((url) => fetch(url + "api/v1/health").then(() => true, () => false), env.baseUrl);
  assert.equal(reachable, false, "the server must be unreachable once routes are blocked");
  assert.match(await ask(page, zh, "能用支付宝吗"), /支付宝/);
  assert.match(await ask(page, zh, "I want my money back"), /refunds reach your account/);
  assert.ok(blocked >= 1, "the route interception saw the probe request");

  await page.screenshot({ path: join(artifacts, "widget-open-zh.png") });
  // The only errors allowed offline are the blocked requests themselves.
  assert.deepEqual(problems.filter((p) => !p.includes("net::ERR_FAILED")), []);
  await context.close();
});

test("labels follow an English browser", async () => {
  const { context, page, problems } = await openPage(env.browser, env.baseUrl, "en-US");
  await page.getByRole("button", { name: en.open }).click();
  // The widget loads on this first open; the welcome shows when the model is ready.
  await page.getByRole("log", { name: en.log }).getByRole("article", { name: en.bot }).first().waitFor();
  assert.match(await ask(page, en, "what payment methods do you accept"), /WeChat Pay/);
  assert.match(await ask(page, en, "多久能收到货"), /2到4天送达/);
  // Escape closes the panel and gives focus back to the launcher.
  await page.keyboard.press("Escape");
  const launcher = page.getByRole("button", { name: en.open });
  await launcher.waitFor();
  assert.equal(await launcher.evaluate((el) => el.getRootNode().activeElement === el), true);
  await page.screenshot({ path: join(artifacts, "widget-closed-en.png") });
  assert.deepEqual(problems, []);
  await context.close();
});
