// The dashboard's only script: copy buttons for keys shown once. Everything else works without it.
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) return;
  var field = document.getElementById(button.getAttribute("data-copy"));
  var status = document.querySelector('[data-copied-for="' + button.getAttribute("data-copy") + '"]');
  var done = function (text) { if (status) status.textContent = text; };
  field.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(
      function () { done("Copied."); },
      function () { done("Press Ctrl+C (or Cmd+C) to copy."); }
    );
  } else {
    done(document.execCommand("copy") ? "Copied." : "Press Ctrl+C (or Cmd+C) to copy.");
  }
});
