/* global clearTimeout, setInterval */
// The repository panel: "Create application", the auto-build switch, "Build now", and builds refreshed while they run.
(function () {
  "use strict";
  var P = window.Pipelines;
  var root = P && P.root;
  if (!root || root.getAttribute("data-page") !== "panel") return;
  var repo = root.getAttribute("data-repository");
  var pipelines = {};
  var branchTimer = null;

  function appId() {
    return root.getAttribute("data-application-id");
  }
  function $(testid) {
    return root.querySelector('[data-testid="' + testid + '"]');
  }
  function fail(err) {
    P.message(err.message, "error");
  }

  /** Re-reads the panel: every region (after "Create application"), or only the builds. */
  function refresh(everything) {
    return P.fragment("/fragments/panel" + P.query({ repoPath: repo })).then(function (doc) {
      if (everything) {
        var fresh = doc.querySelector("[data-pipelines-root]");
        var id = fresh && fresh.getAttribute("data-application-id");
        if (id) root.setAttribute("data-application-id", id);
        P.swap(doc, "panel");
      } else {
        P.swap(doc, "panel-builds");
      }
    });
  }

  function unfinished() {
    return !!root.querySelector('[data-region="panel-builds"] [data-state="QUEUED"], [data-region="panel-builds"] [data-state="RUNNING"], [data-region="panel-builds"] [data-state="PAUSED"]');
  }

  function createApplication(button) {
    button.disabled = true;
    P.message("Creating the application…");
    P.api("POST", "/api/applications", { repository: repo })
      .catch(function (err) {
        if (err.status !== 409) throw err;
      })
      .then(function () {
        return refresh(true);
      })
      .then(function () {
        P.message("Pipelines now builds every push to " + repo + ".", "success");
      })
      .catch(function (err) {
        button.disabled = false;
        fail(err);
      });
  }

  function setAutoBuild(input) {
    var wanted = input.checked;
    input.disabled = true;
    P.api("PATCH", "/api/applications/" + appId(), { autoBuild: wanted })
      .then(function (app) {
        input.checked = app.autoBuild;
        P.message(app.autoBuild ? "Every push is built." : "Pushes are no longer built; Build now still works.", "success");
      })
      .catch(function (err) {
        input.checked = !wanted;
        fail(err);
      })
      .then(function () {
        input.disabled = false;
      });
  }

  function option(value, text) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }

  /** Lists the branch's pipelines in the picker (read from its bitbucket-pipelines.yml through the app). */
  function loadPipelines() {
    var branch = $("build-now-branch").value.trim();
    var select = $("build-now-pipeline");
    var info = $("build-now-info");
    if (!branch || !appId()) return;
    info.textContent = "Reading bitbucket-pipelines.yml of " + branch + "…";
    P.api("GET", "/api/applications/" + appId() + "/pipelines" + P.query({ branch: branch }))
      .then(function (body) {
        pipelines = {};
        select.textContent = "";
        select.appendChild(option("", body.branchPipeline ? "The branch's pipeline (" + body.branchPipeline + ")" : "The branch's pipeline (none matches)"));
        body.custom.forEach(function (p) {
          pipelines[p.name] = p.variables;
          select.appendChild(option(p.name, "custom: " + p.name));
        });
        info.textContent = body.file === "missing" ? "This branch has no bitbucket-pipelines.yml." : body.file === "broken" ? body.errors.join("\n") : "";
        renderVariables();
      })
      .catch(function (err) {
        info.textContent = err.message;
      });
  }

  function renderVariables() {
    var box = $("build-now-variables");
    var name = $("build-now-pipeline").value;
    box.textContent = "";
    (pipelines[name] || []).forEach(function (v) {
      var label = document.createElement("label");
      label.className = "field";
      label.textContent = v.name;
      var input;
      if (v.allowedValues) {
        input = document.createElement("select");
        v.allowedValues.forEach(function (a) {
          var o = option(a, a);
          if (a === v.default) o.selected = true;
          input.appendChild(o);
        });
      } else {
        input = document.createElement("input");
        input.value = v.default || "";
      }
      input.name = v.name;
      input.setAttribute("data-testid", "build-now-variable");
      input.setAttribute("data-name", v.name);
      if (v.description) input.title = v.description;
      label.appendChild(input);
      box.appendChild(label);
    });
  }

  function buildNow(form) {
    var branch = $("build-now-branch").value.trim();
    var custom = $("build-now-pipeline").value;
    if (!branch) return P.message("Give the branch to build.", "error");
    var body = { branch: branch };
    if (custom) {
      body.pipeline = "custom:" + custom;
      body.variables = {};
      form.querySelectorAll('[data-testid="build-now-variable"]').forEach(function (input) {
        body.variables[input.getAttribute("data-name")] = input.value;
      });
    }
    var submit = $("build-now-submit");
    submit.disabled = true;
    P.api("POST", "/api/applications/" + appId() + "/builds", body)
      .then(function (build) {
        P.message("Build #" + build.number + " of " + branch + " started.", "success");
        return refresh(false);
      })
      .catch(fail)
      .then(function () {
        submit.disabled = false;
      });
  }

  root.addEventListener("click", function (e) {
    var el = e.target.closest("[data-action]");
    if (el && el.getAttribute("data-action") === "create-application") createApplication(el);
  });
  root.addEventListener("change", function (e) {
    var action = e.target.getAttribute("data-action");
    if (action === "auto-build") setAutoBuild(e.target);
    if (e.target.getAttribute("data-testid") === "build-now-pipeline") renderVariables();
  });
  root.addEventListener("input", function (e) {
    if (e.target.getAttribute("data-testid") !== "build-now-branch") return;
    clearTimeout(branchTimer);
    branchTimer = setTimeout(loadPipelines, 400);
  });
  root.addEventListener("toggle", function (e) {
    if (e.target.getAttribute("data-testid") === "build-now" && e.target.open) loadPipelines();
  }, true);
  root.addEventListener("submit", function (e) {
    e.preventDefault();
    if (e.target.getAttribute("data-action") === "build-now") buildNow(e.target);
  });

  // Builds appear and finish while the panel is open: refresh them, faster while one runs.
  var last = Date.now();
  setInterval(function () {
    if (!appId() || document.hidden) return;
    if (Date.now() - last < (unfinished() ? 3000 : 10000)) return;
    last = Date.now();
    refresh(false).catch(function () {
      /* the next round tries again */
    });
  }, 1000);
})();
