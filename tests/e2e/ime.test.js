// Chinese input methods use Enter to confirm a candidate: while the IME is composing, Enter must
// not send. Driven through Chromium's real IME path (CDP Input.imeSetComposition), in zh and en.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openTestPage, scriptTagPage, useServerAndBrowser } from "./harness.js";

const env = useServerAndBrowser();

for (const [lang, locale, labels] of [
  ["zh-CN", "zh-CN", { log: "聊天记录", visitor: "我", bot: "机器人", input: "输入消息" }],
  ["en", "en-US", { log: "Messages", visitor: "You", bot: "Bot", input: "Type a message" }],
]) {
  test(`Enter while composing confirms the candidate and does not send (${lang})`, async () => {
    const html = scriptTagPage({ lang, attributes: { model: "/models/shop-zh.chatlet", lang, open: true } });
    const { context, page, problems } = await openTestPage(env.browser, env.baseUrl, { html, locale });
    const log = page.getByRole("log", { name: labels.log });
    await log.getByRole("article", { name: labels.bot }).first().waitFor({ timeout: 10_000 });
    const input = page.getByRole("textbox", { name: labels.input });
    await input.click();
    const cdp = await context.newCDPSession(page);
    // Pinyin being composed: "fahuo", then Enter (which the IME takes to confirm), then the commit.
    await cdp.send("Input.imeSetComposition", { text: "fahuo", selectionStart: 5, selectionEnd: 5 });
    await page.evaluate(() => {
      window.keydowns = [];
      document.querySelector("chatlet-widget").shadowRoot.addEventListener("keydown", (e) => window.keydowns.push({ key: e.key, composing: e.isComposing }), { capture: true });
    });
    await cdp.send("Input.dispatchKeyEvent", { type: "rawKeyDown", key: "Enter", code: "Enter", windowsVirtualKeyCode: 13 });
    await cdp.send("Input.dispatchKeyEvent", { type: "char", key: "Enter", code: "Enter", text: "\r", windowsVirtualKeyCode: 13 });
    await cdp.send("Input.dispatchKeyEvent", { type: "keyUp", key: "Enter", code: "Enter", windowsVirtualKeyCode: 13 });
    assert.deepEqual(await page.evaluate(() => window.keydowns), [{ key: "Enter", composing: true }], "the page saw Enter during composition");
    await cdp.send("Input.insertText", { text: "发货" });
    await page.waitForTimeout(300);
    assert.equal(await log.getByRole("article", { name: labels.visitor }).count(), 0, "nothing was sent while composing");
    assert.equal(await input.inputValue(), "发货", "the candidate is in the input");
    // After the composition, Enter sends.
    await input.press("Enter");
    await log.getByRole("article", { name: labels.visitor }).first().waitFor({ timeout: 5000 });
    assert.match(await log.getByRole("article", { name: labels.visitor }).first().innerText(), /发货/);
    assert.deepEqual(problems, []);
    await context.close();
  });
}
