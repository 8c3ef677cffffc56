// Tome dashboard: progressive enhancement only. Every page works without this script; with it,
// destructive forms ask for confirmation, secrets get a copy button, and pages may register
// further behaviour with `data-enhance` hooks below.
"use strict";
(function () {
  // A form (or button) with data-confirm asks before it submits.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // <button data-copy="#id"> copies the text of the element it names.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy"));
      if (!target) return;
      var text = target.value !== undefined ? target.value : target.textContent;
      var done = function () {
        var label = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text.trim()).then(done, function () {});
      }
    });
  });

  // Typed confirmation: a submit button stays disabled until the named input holds the expected
  // text (the server checks it again).
  document.querySelectorAll("[data-confirm-text]").forEach(function (input) {
    var form = input.form;
    var button = form && form.querySelector("button[type=submit]");
    if (!button) return;
    var expected = input.getAttribute("data-confirm-text");
    var sync = function () { button.disabled = input.value !== expected; };
    input.addEventListener("input", sync);
    sync();
  });
})();
