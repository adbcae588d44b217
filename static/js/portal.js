// The portal's only script: CSRF header for htmx, error toasts, no double submits.
(function () {
  "use strict";

  function cookie(name) {
    const match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  // Litestar checks the x-csrftoken header on every htmx request that changes state; the
  // cookie is read at send time so a token renewed by another tab is still right.
  document.addEventListener("htmx:configRequest", function (event) {
    const token = cookie("csrftoken");
    if (token) event.detail.headers["x-csrftoken"] = token;
  });

  const toast = () => document.getElementById("toast");
  function showToast(message) {
    const el = toast();
    if (!el) return;
    el.textContent = message;
    el.hidden = false;
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(function () { el.hidden = true; }, 8000);
  }
  document.addEventListener("htmx:responseError", function (event) {
    const status = event.detail.xhr.status;
    showToast(status === 403
      ? "This page has expired. Reload it and try again."
      : "Something went wrong (" + status + "). Try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showToast("The portal cannot be reached. Check your connection and try again.");
  });

  // Plain (non-htmx) forms: disable the button once the form is on its way.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (event.defaultPrevented || form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;
    const button = event.submitter;
    if (!button) return;
    setTimeout(function () {
      button.disabled = true;
      if (button.dataset.busyLabel) button.textContent = button.dataset.busyLabel;
    }, 0);
  });

  // Escape closes an open account menu.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.account-menu[open]").forEach(function (d) {
      d.open = false;
      d.querySelector("summary").focus();
    });
  });
})();
