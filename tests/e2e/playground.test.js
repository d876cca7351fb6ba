// The authors' playground (www/playground.html): train the example bot in the browser and chat
// with it, see a mistake reported at its line and column, fix it and retrain — with the network
// to anything but the page's own files cut off.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openPage, useServerAndBrowser } from "./harness.js";

const env = useServerAndBrowser();

test("a bot is trained in the page, chats, reports a mistake by line and column, and retrains", async () => {
  const { context, page, problems } = await openPage(env.browser, `${env.baseUrl}www/playground.html`, "en-US");
  const train = page.getByRole("button", { name: "Train and chat" });
  await page.getByRole("status").filter({ hasText: "Ready" }).waitFor({ timeout: 20_000 });
  // From here on nothing may be fetched: training and chat run in the page.
  const requests = [];
  page.on("request", (r) => { if (!r.url().startsWith("blob:")) requests.push(r.url()); });
  await train.click();
  await page.getByRole("status").filter({ hasText: /Trained in .*model [\d.]+ KB/ }).waitFor({ timeout: 20_000 });
  const log = page.getByRole("log", { name: "Messages" });
  await log.getByRole("article", { name: "Bot" }).first().waitFor({ timeout: 10_000 });
  const input = page.getByRole("textbox", { name: "Type a message" });
  await input.fill("上海天气怎么样");
  await input.press("Enter");
  await log.getByRole("article", { name: "Bot" }).last().filter({ hasText: "上海今天晴" }).waitFor({ timeout: 5000 });

  // A mistake: an intent without examples. The error names line and column, and clicking it moves the caret there.
  const editor = page.getByRole("textbox", { name: "Bot file (YAML)" });
  const fixed = await editor.inputValue();
  const broken = fixed.replace("intents:\n", "intents:\n  broken:\n    responses: hi\n");
  const brokenLine = broken.split("\n").indexOf("  broken:") + 1;
  await editor.fill(broken);
  await train.click();
  const problem = page.getByRole("list", { name: "Problems in the bot file" }).getByRole("button").first();
  await problem.waitFor();
  assert.match(await problem.textContent(), new RegExp(`^bot\\.yaml:${brokenLine}:3: intent \`broken\` has no \`examples\``));
  await problem.click();
  const caretLine = await editor.evaluate((e) => e.value.slice(0, e.selectionStart).split("\n").length);
  assert.equal(caretLine, brokenLine);

  // Fixed and extended: the chat starts over with the new model.
  await editor.fill(fixed.replace("intents:\n", "intents:\n  thanks:\n    examples: [thank you, thanks a lot, 谢谢, 多谢]\n    responses: \"You're welcome! 不客气！\"\n"));
  await train.click();
  await page.getByRole("status").filter({ hasText: /Trained in/ }).waitFor();
  await log.getByRole("article", { name: "Bot" }).first().waitFor({ timeout: 5000 });
  await input.fill("谢谢");
  await input.press("Enter");
  await log.getByRole("article", { name: "Bot" }).last().filter({ hasText: "不客气" }).waitFor({ timeout: 5000 });
  assert.deepEqual(requests, []);
  assert.deepEqual(problems, []);
  await context.close();
});
