// Refreshes the current-visitors count every 30 seconds while the page is visible.
(function () {
  "use strict";
  var count = document.getElementById("realtime-count");
  if (!count || !window.fetch) return;
  var url = count.getAttribute("data-url");
  function refresh() {
    if (document.hidden) return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && typeof body.visitors === "number") count.textContent = String(body.visitors);
      })
      .catch(function () {});
  }
  window.setInterval(refresh, 30000);
  document.addEventListener("visibilitychange", refresh);
})();
