// crimecheck page: the only script. Marks that JavaScript runs, and refreshes the queue's results
// in place every minute (keeping the filters, which live in the address), unless the person has
// turned that off or is working inside the results.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    var region = document.getElementById("queue-results");
    if (!region) {
      return;
    }
    var toggle = document.getElementById("auto-refresh");
    var status = document.getElementById("refresh-status");
    var seconds = parseInt(region.getAttribute("data-refresh") || "60", 10);
    function refresh() {
      if (document.hidden || (toggle && !toggle.checked) || region.contains(document.activeElement)) {
        return;
      }
      fetch(window.location.href, {
        headers: { "X-Page-Fragment": "queue" },
        credentials: "same-origin",
        cache: "no-store",
        redirect: "manual"
      }).then(function (response) {
        if (response.type === "opaqueredirect" || response.status === 401) {
          window.location.reload();  // signed out or expired: the server shows the sign-in page
          return null;
        }
        return response.ok ? response.text() : null;
      }).then(function (html) {
        if (html === null || html === undefined) {
          return;
        }
        region.innerHTML = html;
        if (status) {
          var now = new Date();
          status.textContent = "Updated at " + now.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
        }
      }).catch(function () {
        if (status) {
          status.textContent = "Could not refresh: the service did not answer. Showing the last list.";
        }
      });
    }
    window.setInterval(refresh, Math.max(seconds, 10) * 1000);
  });
})();
