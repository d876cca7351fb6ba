// The script-tag widget on a page whose global CSS attacks everything: `* { all: unset }`, hidden
// divs and buttons, huge fonts, odd z-indexes and transforms. The widget must still show, open,
// be readable at its own size, and answer, in zh and en.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openTestPage, scriptTagPage, useServerAndBrowser } from "./harness.js";

const env = useServerAndBrowser();

const hostileCss = `<style>
  * { all: unset !important; }
  html { font-size: 64px !important; }
  div, section, header, form, p, span { display: none !important; }
  button, input, svg, img { display: none !important; visibility: hidden !important; }
  chatlet-widget { display: none !important; visibility: hidden !important; opacity: 0 !important; }
  body * { font-size: 80px !important; color: transparent !important; z-index: 2147483647 !important; }
  body > *:not(chatlet-widget) { position: fixed !important; inset: 0 !important; }
  :root { --chatlet-accent: not-a-color; }
</style>`;

for (const [lang, locale, labels, question, answer] of [
  ["zh-CN", "zh-CN", { open: "打开聊天", log: "聊天记录", bot: "机器人", input: "输入消息" }, "什么时候发货", /48小时/],
  ["en", "en-US", { open: "Open chat", log: "Messages", bot: "Bot", input: "Type a message" }, "how do I return an item", /退货|return/i],
]) {
  test(`the widget renders and works under hostile page CSS (${lang})`, async () => {
    const html = scriptTagPage({
      lang,
      head: hostileCss,
      body: "<div><p>Page content the hostile CSS hides.</p></div>",
      attributes: { model: "/models/shop-zh.chatlet", lang },
    });
    const { context, page, problems } = await openTestPage(env.browser, env.baseUrl, { html, locale });
    const launcher = page.getByRole("button", { name: labels.open });
    await launcher.waitFor();
    const box = await launcher.boundingBox();
    assert.ok(box && box.width >= 40 && box.width <= 80, `launcher has its own size: ${JSON.stringify(box)}`);
    await launcher.click();
    const log = page.getByRole("log", { name: labels.log });
    await log.getByRole("article", { name: labels.bot }).first().waitFor({ timeout: 10_000 });
    const input = page.getByRole("textbox", { name: labels.input });
    await input.fill(question);
    await input.press("Enter");
    const answered = log.getByRole("article", { name: labels.bot }).nth(1);
    await answered.waitFor({ timeout: 5000 });
    assert.match(await answered.innerText(), answer);
    // Visible at the widget's own font size, in its own colors, on top of the page.
    const style = await answered.evaluate((e) => {
      const s = getComputedStyle(e.querySelector("p"));
      return { fontSize: s.fontSize, color: s.color, display: s.display };
    });
    assert.equal(style.fontSize, "15px");
    assert.notEqual(style.color, "rgba(0, 0, 0, 0)");
    const panel = page.getByRole("dialog");
    const panelBox = await panel.boundingBox();
    assert.ok(panelBox && panelBox.width > 300 && panelBox.height > 300, `panel has its size: ${JSON.stringify(panelBox)}`);
    // The topmost element at the panel's centre is the widget (its host), not the page's cover.
    const topmost = await page.evaluate(({ x, y }) => document.elementFromPoint(x, y)?.tagName, { x: panelBox.x + panelBox.width / 2, y: panelBox.y + panelBox.height / 2 });
    assert.equal(topmost, "CHATLET-WIDGET");
    await page.screenshot({ path: `../../target/e2e/hostile-css-${lang}.png` });
    assert.deepEqual(problems, []);
    await context.close();
  });
}
