// The standalone home (/oauth): Disconnect a workspace, after a confirmation, with a message for the result.
(function () {
  "use strict";
  var message = document.querySelector('[data-testid="message"]');
  function say(text, kind) {
    if (!message) return;
    message.textContent = text;
    message.className = "message" + (kind ? " " + kind : "");
    message.hidden = false;
  }
  document.querySelectorAll("[data-disconnect]").forEach(function (button) {
    button.addEventListener("click", function () {
      var workspace = button.getAttribute("data-workspace");
      if (!window.confirm("Disconnect " + workspace + "? Its webhooks and the SSH key Pipelines added are deleted from Bitbucket, its tokens deleted and its builds stopped.")) return;
      button.disabled = true;
      fetch("/api/oauth/disconnect", { method: "POST", headers: { "X-Pipelines-Tenant": button.getAttribute("data-disconnect") }, credentials: "same-origin" })
        .then(function (res) {
          if (!res.ok) throw new Error("Disconnecting failed (HTTP " + res.status + ").");
          say(workspace + " is disconnected.", "success");
          setTimeout(function () {
            window.location.reload();
          }, 800);
        })
        .catch(function (err) {
          button.disabled = false;
          say(err.message, "error");
        });
    });
  });
})();
