// The portal's only script: CSRF header for htmx, error toasts, no double submits, and the
// keyboard and history glue of Case2Code's active search.
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

  // Case2Code active search -------------------------------------------------------------------

  // The search's address is what a reader bookmarks and shares: leave out empty filters.
  document.addEventListener("htmx:configRequest", function (event) {
    const elt = event.detail.elt;
    if (event.detail.verb !== "get" || !elt.closest || !elt.closest("#search-form")) return;
    const params = event.detail.parameters;
    ["system", "chapter"].forEach(function (name) {
      if (params[name] === "") delete params[name];
    });
  });

  // A 400 from the search (a query it cannot run) carries the message to show in the results.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    if (event.detail.xhr.status === 400 && target && target.id === "search-results") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // htmx snapshots the page for the back button just before it swaps in new results, when the
  // input already holds the newer query: keep the fields' default values (what a snapshot
  // records) equal to the search the shown results answer, so back shows them together.
  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    if (!target || target.id !== "search-results") return;
    const state = target.querySelector("[data-search-state]");
    const form = document.getElementById("search-form");
    if (!state || !form) return;
    const fields = form.elements;
    if (fields.q) fields.q.defaultValue = state.dataset.q;
    if (fields.billable) fields.billable.defaultChecked = state.dataset.billable === "1";
    ["system", "chapter"].forEach(function (name) {
      const select = fields[name];
      if (!select) return;
      Array.from(select.options).forEach(function (option) {
        option.defaultSelected = option.value === state.dataset[name];
      });
    });
  });

  // Keyboard: ArrowDown from a search input moves into its results (the element named by its
  // data-results, #search-results by default), ArrowUp/ArrowDown move between them, Enter opens
  // one (a plain link), Escape goes back to the input.
  function resultsFor(input) {
    return document.getElementById(input.getAttribute("data-results") || "search-results");
  }
  function linksIn(box) {
    return box ? Array.from(box.querySelectorAll("[data-result-link]")) : [];
  }
  document.addEventListener("keydown", function (event) {
    const el = event.target;
    if (!(el instanceof Element) || event.altKey || event.ctrlKey || event.metaKey) return;
    if (el.matches("[data-search-input]")) {
      if (event.key === "Escape" && el.getAttribute("data-results")) {
        const box = resultsFor(el);
        if (box) box.innerHTML = "";  // the header's suggestions close
        return;
      }
      if (event.key !== "ArrowDown") return;
      const links = linksIn(resultsFor(el));
      if (links.length) {
        event.preventDefault();
        links[0].focus();
      }
      return;
    }
    if (!el.matches("[data-result-link]")) return;
    // The search input whose results hold this link.
    const input = Array.from(document.querySelectorAll("[data-search-input]")).find(function (i) {
      const results = resultsFor(i);
      return results && results.contains(el);
    });
    const links = input ? linksIn(resultsFor(input)) : [];
    const at = links.indexOf(el);
    if (event.key === "ArrowDown" && at < links.length - 1) {
      event.preventDefault();
      links[at + 1].focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      if (at > 0) links[at - 1].focus();
      else if (input) input.focus();
    } else if (event.key === "Escape" && input) {
      event.preventDefault();
      input.focus();
    }
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
