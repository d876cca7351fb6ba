// Benchmark (run by `cargo xtask bench`, not a test): time from navigation start to the first bot
// reply in headless Chromium on 127.0.0.1, cold cache (a new browser context with the HTTP cache
// off for every run). The page embeds the widget with the script tag and `data-open`; measured:
// the welcome message on screen, and the answer to a question the page sends as soon as the
// widget's API exists. Median of RUNS.
// usage: node first-reply.js MODEL_URL_PATH OUT.json
import { writeFileSync } from "node:fs";
import { launchBrowser, startServer } from "./harness.js";

const [modelPath = "/models/shop-zh.chatlet", out] = process.argv.slice(2);
const RUNS = 10;
const QUESTION = "什么时候发货";

const html = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>first reply</title><link rel="icon" href="data:,"></head>
<body><h1>Shop</h1><script src="/pkg/chatlet.js" data-model="${modelPath}" data-lang="zh-CN" data-open defer></script>
<script>
  // Polls the widget's shadow root: the first and second bot messages, in ms since navigation start.
  window.replies = new Promise((resolve) => {
    const times = [];
    (function poll() {
      const root = document.querySelector("chatlet-widget")?.shadowRoot;
      const bots = root ? root.querySelectorAll('[role="log"] .chatlet-bot').length : 0;
      while (times.length < bots) times.push(performance.now());
      if (times.length >= 2) resolve(times);
      else setTimeout(poll, 1);
    })();
  });
  document.addEventListener("chatlet:ready", () => window.chatlet.send(${JSON.stringify(QUESTION)}));
</script></body></html>`;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const server = startServer();
const browser = await launchBrowser();
try {
  const baseUrl = await server.url;
  const welcome = [];
  const answer = [];
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext({ locale: "zh-CN" });
    await context.route(`${baseUrl}first-reply.html`, (route) => route.fulfill({ contentType: "text/html; charset=utf-8", body: html }));
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    const problems = [];
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(`${baseUrl}first-reply.html`);
    const times = await page.evaluate(() => Promise.race([window.replies, new Promise((_, reject) => setTimeout(() => reject(new Error("no reply in 20 s")), 20_000))]));
    if (problems.length) throw new Error(problems.join("\n"));
    welcome.push(times[0]);
    answer.push(times[1]);
    await context.close();
  }
  const result = { runs: RUNS, welcome_ms_median: median(welcome), answer_ms_median: median(answer), welcome_ms: welcome, answer_ms: answer, browser: browser.version() };
  if (out) writeFileSync(out, JSON.stringify(result, null, 1));
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  server.stop();
}
