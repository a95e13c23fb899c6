// Copy buttons on the site settings pages, loaded as a file: the CSP allows no inline script.
// A button names the element whose text it copies (data-copy-target) and the live region
// that reports the result (data-copy-status). Buttons stay hidden where no clipboard is
// available (plain http other than localhost), where selecting the text is the way.
(function () {
  "use strict";
  var clipboard = navigator.clipboard;
  if (!clipboard || typeof clipboard.writeText !== "function") {
    return;
  }
  var buttons = document.querySelectorAll("button[data-copy-target]");
  Array.prototype.forEach.call(buttons, function (button) {
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!source) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      clipboard.writeText(source.textContent).then(
        function () {
          if (status) {
            status.textContent = "Copied to the clipboard.";
          }
        },
        function () {
          if (status) {
            status.textContent = "Could not copy: select the text and copy it instead.";
          }
        }
      );
    });
  });
})();
