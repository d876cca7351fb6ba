/*! chatlet loader: the one classic <script> a page needs.
 *  <script src=".../chatlet.js" data-model="bot.chatlet" [data-title="..."] [data-lang="zh-CN|zh-TW|en|auto"]
 *          [data-theme="auto|light|dark"] [data-open]
 *          [data-server="wss://chat.example" data-key="PUBLIC KEY" [data-user="SITE'S VISITOR ID"]] defer></script>
 *  It draws the launcher at once and loads the widget (ES module + wasm, from its own folder) only
 *  when the visitor opens the chat or the page has been idle for a moment (the server-synced build,
 *  sync/, when data-server is set). The handle is
 *  window.chatlet once loaded; the <chatlet-widget> element then fires "chatlet:ready". */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) {
    console.error("chatlet: load chatlet.js with a <script src> tag");
    return;
  }
  var data = script.dataset;
  if (!data.model) {
    console.error('chatlet: the <script> tag needs data-model="URL of a .chatlet model"');
    return;
  }
  var base = new URL(".", script.src);
  var options = {
    model: new URL(data.model, document.baseURI).href,
    title: data.title,
    lang: data.lang,
    theme: data.theme,
    server: data.server,
    key: data.key,
    userId: data.user,
    open: data.open !== undefined && data.open !== "false"
  };
  // The same words the widget's launcher uses, so the button keeps its name when the widget takes over.
  var tag = (data.lang && data.lang !== "auto" ? data.lang : navigator.language || "").toLowerCase();
  var label = /^zh-(tw|hk|mo|hant)/.test(tag) ? "打開聊天" : tag.indexOf("zh") === 0 ? "打开聊天" : "Open chat";
  var host, placeholder, loading, wantOpen = options.open;

  function load() {
    if (loading) return loading;
    var build = options.server ? "sync/chatlet_sync" : "chatlet_widget";
    loading = import(new URL(build + ".js", base).href)
      .then(function (widget) {
        return widget.default({ module_or_path: new URL(build + "_bg.wasm", base) }).then(function () {
          options.open = wantOpen;
          window.chatlet = widget.mount(host, options);
          host.dispatchEvent(new CustomEvent("chatlet:ready", { bubbles: true }));
        });
      })
      .catch(function (error) {
        console.error("chatlet: the widget could not start:", error);
      });
    return loading;
  }

  function start() {
    host = document.createElement("chatlet-widget");
    // Inline !important beats any rule of the page (`* { all: unset }`, `chatlet-widget { display: none !important }`);
    // everything else lives in the shadow root, where the page's rules do not reach.
    host.style.cssText = "all:initial!important;display:block!important;visibility:visible!important;opacity:1!important;" +
      "position:static!important;transform:none!important;filter:none!important;contain:none!important";
    var shadow = host.attachShadow({ mode: "open" });
    // A stand-in launcher until the widget is loaded (the widget then takes over this shadow root).
    placeholder = document.createElement("button");
    placeholder.type = "button";
    placeholder.setAttribute("aria-label", label);
    placeholder.setAttribute("aria-expanded", "false");
    placeholder.style.cssText =
      "all:initial;position:fixed;right:var(--chatlet-offset,20px);bottom:var(--chatlet-offset,20px);" +
      "z-index:2147483647;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;padding:14px;" +
      "box-sizing:border-box;background:var(--chatlet-accent,#1d5fd1);color:var(--chatlet-accent-text,#fff);" +
      "box-shadow:0 4px 14px rgba(0,0,0,.25)";
    placeholder.innerHTML =
      '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false" style="width:28px;height:28px;fill:currentColor;display:block">' +
      '<path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';
    placeholder.addEventListener("click", function () {
      wantOpen = true;
      placeholder.setAttribute("aria-busy", "true");
      load();
    });
    shadow.appendChild(placeholder);
    document.body.appendChild(host);
    if (options.open) {
      load();
    } else {
      // Not in the page's way while it loads: wait a moment, then for an idle slot.
      setTimeout(function () {
        if (window.requestIdleCallback) window.requestIdleCallback(load, { timeout: 3000 });
        else load();
      }, 1500);
    }
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
