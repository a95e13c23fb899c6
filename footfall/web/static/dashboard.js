// Keeps live numbers live while the page is visible: the current-visitors count on the
// dashboard, and the whole realtime view, every 30 seconds and when the tab comes back.
(function () {
  "use strict";
  if (!window.fetch) return;
  var count = document.getElementById("realtime-count");
  var noun = document.getElementById("realtime-noun");
  var body = document.getElementById("realtime-body");
  function refreshCount() {
    fetch(count.getAttribute("data-url"), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (answer && typeof answer.visitors === "number") {
          count.textContent = String(answer.visitors);
          if (noun) {
            noun.textContent = answer.visitors === 1 ? "current visitor" : "current visitors";
          }
        }
      })
      .catch(function () {});
  }
  function refreshBody() {
    fetch(body.getAttribute("data-refresh-url"), {
      credentials: "same-origin", headers: { Accept: "text/html" }
    })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        // Server-rendered and escaped like the page itself; scripts in it would not run.
        if (html !== null) body.innerHTML = html;
      })
      .catch(function () {});
  }
  function refresh() {
    if (document.hidden) return;
    if (count) refreshCount();
    if (body) refreshBody();
  }
  if (!count && !body) return;
  window.setInterval(refresh, 30000);
  document.addEventListener("visibilitychange", refresh);
})();
