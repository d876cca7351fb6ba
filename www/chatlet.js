/*! chatlet loader: the one classic <script> a page needs.
 *  <script src=".../chatlet.js" data-model="bot.chatlet" [data-title="..."] [data-lang="zh-CN|en|auto"] [data-open] defer></script>
 *  It creates a <chatlet-widget> element, loads the widget's ES module and wasm from its own folder
 *  with a dynamic import(), and mounts it. The handle is window.chatlet; the element fires "chatlet:ready". */
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
    open: data.open !== undefined && data.open !== "false"
  };
  function start() {
    var host = document.createElement("chatlet-widget");
    document.body.appendChild(host);
    import(new URL("chatlet_widget.js", base).href)
      .then(function (widget) {
        return widget.default({ module_or_path: new URL("chatlet_widget_bg.wasm", base) }).then(function () {
          window.chatlet = widget.mount(host, options);
          host.dispatchEvent(new CustomEvent("chatlet:ready", { bubbles: true }));
        });
      })
      .catch(function (error) {
        console.error("chatlet: the widget could not start:", error);
      });
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
