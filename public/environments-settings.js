// The configure page's deployment environments: add, rename, re-type, restrict, move and remove them, and set their
// variables, through the JSON API (context token inside Bitbucket, the session standalone, Forge's invokeRemote inside
// the Forge app's page). After each change the page shows the environments as the API returns them. Data from the
// server goes in with textContent / value only.
(function () {
  "use strict";
  var section = document.getElementById("environments-settings");
  var root = document.getElementById("configure");
  if (!section || !root) return;
  /** Calls the app's API as configure.js does (context token, session or Forge); resolves with the answer's JSON. */
  function api(method, path, body) {
    return window.PipelinesConfigure.api(method, path, body).then(function (r) {
      return r.body;
    });
  }

  function branchesOf(text) {
    var list = text.split(",").map(function (b) {
      return b.trim();
    }).filter(Boolean);
    return list.length ? list : null;
  }

  Array.prototype.forEach.call(section.querySelectorAll(".environments-app"), function (box) {
    var id = box.getAttribute("data-application-id");
    var result = box.querySelector(".environments-result");
    var envPath = function (name) {
      return "/api/applications/" + encodeURIComponent(id) + "/environments" + (name ? "/" + encodeURIComponent(name) : "");
    };
    function show(text, ok) {
      result.textContent = text;
      result.className = "configure-result environments-result " + (ok ? "configure-ok" : "configure-error");
    }
    function done(text) {
      show(text, true);
      // The rows are the server's: a reload of the page section shows names, order and variables as stored.
      return api("GET", envPath()).then(function (body) {
        var names = body.values.map(function (e) {
          return e.name;
        });
        show(text + " Environments: " + names.join(", ") + ". Reload the page to edit them further.", true);
      });
    }
    function fail(err) {
      show(err.message, false);
    }

    box.addEventListener("click", function (ev) {
      var button = ev.target && ev.target.closest ? ev.target.closest("[data-env-action]") : null;
      if (!button) return;
      var row = button.closest("tr");
      var name = row.getAttribute("data-environment");
      var action = button.getAttribute("data-env-action");
      var rows = Array.prototype.slice.call(box.querySelectorAll('tr[data-testid="environment-row"]'));
      var index = rows.indexOf(row);
      if (action === "save") {
        var patch = {
          name: row.querySelector('[name="name"]').value,
          type: row.querySelector('[name="type"]').value,
          branches: branchesOf(row.querySelector('[name="branches"]').value),
          adminsOnly: row.querySelector('[name="adminsOnly"]').checked,
        };
        api("PATCH", envPath(name), patch).then(function () {
          return done("Saved " + patch.name + ".");
        }).catch(fail);
      } else if (action === "up" || action === "down") {
        api("PATCH", envPath(name), { rank: Math.max(0, index + (action === "up" ? -1 : 1)) }).then(function () {
          return done("Moved " + name + ".");
        }).catch(fail);
      } else if (action === "delete") {
        if (!window.confirm("Remove the environment " + name + " with its variables and history?")) return;
        api("DELETE", envPath(name)).then(function () {
          return done("Removed " + name + ".");
        }).catch(fail);
      } else if (action === "delete-variable") {
        var variable = button.getAttribute("data-name");
        api("DELETE", envPath(name) + "/variables/" + encodeURIComponent(variable)).then(function () {
          return done("Deleted " + variable + " of " + name + ".");
        }).catch(fail);
      }
    });

    box.addEventListener("submit", function (ev) {
      var form = ev.target;
      ev.preventDefault();
      if (form.classList.contains("environment-add-form")) {
        var added = form.elements.name.value.trim();
        api("POST", envPath(), { name: added, type: form.elements.type.value }).then(function () {
          form.reset();
          return done("Added " + added + ".");
        }).catch(fail);
      } else if (form.classList.contains("environment-variable-form")) {
        var env = form.closest("tr").getAttribute("data-environment");
        var variable = form.elements.name.value.trim();
        api("PUT", envPath(env) + "/variables/" + encodeURIComponent(variable), { value: form.elements.value.value, secured: form.elements.secured.checked }).then(function () {
          form.reset();
          return done("Set " + variable + " for " + env + ".");
        }).catch(fail);
      }
    });
  });
})();
