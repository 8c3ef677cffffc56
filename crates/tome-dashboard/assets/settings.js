// Tome dashboard, KB settings: reloads the theme preview as the form changes (debounced), with
// the form's unsaved values. Without this script the "Preview" button does the same.
"use strict";
(function () {
  var form = document.querySelector("form[data-preview]");
  var frame = document.getElementById("theme-preview");
  if (!form || !frame) return;
  var base = form.getAttribute("data-preview");
  // What the preview shows; the CSRF token and the slug never go into its URL.
  var skip = { _csrf: true, slug: true, is_public: true };
  var timer = null;
  var last = "";
  function reload() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (!skip[name] && typeof value === "string") params.append(name, value);
    });
    var url = base + "?" + params.toString();
    if (url === last) return;
    last = url;
    frame.src = url;
  }
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(reload, 400);
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
