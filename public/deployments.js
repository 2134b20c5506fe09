// The Deployments page: Promote and Redeploy, and the columns refreshed while a deployment runs or waits.
(function () {
  "use strict";
  var P = window.Pipelines;
  var root = P && P.root;
  if (!root || root.getAttribute("data-page") !== "deployments") return;
  var repo = root.getAttribute("data-repository");
  var appId = root.getAttribute("data-application-id");

  function refresh() {
    return P.fragment("/fragments/deployments" + P.query({ repoPath: repo })).then(function (doc) {
      P.swap(doc, "deployments");
    });
  }

  function busy() {
    return !!root.querySelector('[data-region="deployments"] [data-state="RUNNING"], [data-region="deployments"] [data-state="WAITING"]');
  }

  function poll() {
    setTimeout(function () {
      (busy() ? refresh() : Promise.resolve()).catch(function () {}).then(poll);
    }, 5000);
  }

  function act(button, path, done) {
    button.disabled = true;
    P.api("POST", "/api/applications/" + encodeURIComponent(appId) + path, { buildId: Number(button.getAttribute("data-build-id")) })
      .then(function () {
        P.message(done, "success");
        return refresh();
      })
      .catch(function (err) {
        button.disabled = false;
        P.message(err.message, "error");
      });
  }

  root.addEventListener("click", function (ev) {
    var target = ev.target && ev.target.closest ? ev.target.closest("[data-action]") : null;
    if (!target || !appId) return;
    var env = target.getAttribute("data-environment") || (target.closest("[data-environment]") || target).getAttribute("data-environment");
    var action = target.getAttribute("data-action");
    if (action === "promote") act(target, "/environments/" + encodeURIComponent(env) + "/promote", "Promoting to " + env + "…");
    if (action === "redeploy") act(target, "/environments/" + encodeURIComponent(env) + "/redeploy", "Redeploying to " + env + "…");
  });
  poll();
})();
