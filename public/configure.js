// The configure page's actions (and a repository's settings page, which shows its sections for one application).
// Inside Bitbucket every call to the app's API carries a context token from AP.context.getToken() (the only kind of
// token action routes accept); standalone (`<body data-auth="session">`) the session cookie goes with a same-origin
// request naming the workspace in `X-Pipelines-Tenant`; inside the Forge app's page (`<body data-auth="forge">`) the
// call goes through Forge (invokeRemote to /forge/ui/api/…, window.PipelinesForge). Data from the server is put in
// the page with textContent only.
(function () {
  "use strict";
  var root = document.getElementById("configure");
  if (!root) return;
  var baseUrl = root.getAttribute("data-base-url") || "";
  var session = document.body.getAttribute("data-auth") === "session";
  var tenant = document.body.getAttribute("data-tenant") || "";
  var forge = document.body.getAttribute("data-auth") === "forge" && !!window.PipelinesForge;

  function contextToken() {
    if (session) return Promise.resolve("");
    return new Promise(function (resolve, reject) {
      if (typeof AP === "undefined" || !AP.context || typeof AP.context.getToken !== "function") {
        var notice = document.getElementById("configure-no-host");
        if (notice) notice.hidden = false;
        reject(new Error("This page must be opened inside Bitbucket."));
        return;
      }
      AP.context.getToken(function (token) {
        if (token) resolve(token);
        else reject(new Error("Bitbucket gave no token; reload the page."));
      });
    });
  }

  /** The same call through Forge: it answers `{status, body}` with the remote's JSON. */
  function forgeApi(method, path, body) {
    return window.PipelinesForge.invoke({ path: "/forge/ui" + path, method: method, body: body }).then(function (r) {
      var json = r.body === undefined ? null : r.body;
      if (r.status >= 400) throw new Error((json && json.error) || "The request failed (HTTP " + r.status + ").");
      return { status: r.status, body: json };
    });
  }

  /** Calls the app's API; resolves with {status, body}, rejects with an Error carrying the app's message. */
  function api(method, path, body) {
    if (forge) return forgeApi(method, path, body);
    return contextToken().then(function (token) {
      var init = session
        ? { method: method, credentials: "same-origin", headers: { "X-Pipelines-Tenant": tenant, Accept: "application/json" } }
        : { method: method, headers: { Authorization: "JWT " + token, Accept: "application/json" } };
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      return fetch(baseUrl + path, init).then(function (res) {
        return res.text().then(function (text) {
          var json;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            json = null;
          }
          if (!res.ok) throw new Error((json && json.error) || "The request failed (HTTP " + res.status + ").");
          return { status: res.status, body: json };
        });
      });
    });
  }

  // The page's other script (environments-settings.js, loaded after this one) calls the API the same way.
  window.PipelinesConfigure = { api: api };

  function show(el, text, kind) {
    el.textContent = text;
    el.className = el.className.replace(/\s*configure-(ok|error)\b/g, "") + (kind ? " configure-" + kind : "");
  }

  // --- SSH key: Copy, Add to my Bitbucket account -------------------------------------------------------
  var keyBox = document.getElementById("ssh-public-key");
  var keyResult = document.getElementById("ssh-result");
  var copy = document.getElementById("ssh-copy");
  if (copy && keyBox) {
    copy.addEventListener("click", function () {
      var done = function () {
        show(keyResult, "Public key copied.", "ok");
      };
      var fallback = function () {
        keyBox.focus();
        keyBox.select();
        var ok;
        try {
          ok = document.execCommand("copy");
        } catch {
          ok = false;
        }
        if (ok) done();
        else show(keyResult, "Select the key and copy it (Ctrl+C / ⌘C).", "error");
      };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(keyBox.value).then(done, fallback);
      else fallback();
    });
  }
  var add = document.getElementById("ssh-add-bitbucket");
  if (add) {
    add.addEventListener("click", function () {
      add.disabled = true;
      show(keyResult, "Adding the key to your Bitbucket account…");
      api("POST", "/api/ssh-key/bitbucket")
        .then(function (r) {
          show(keyResult, r.body.message, "ok");
        })
        .catch(function (err) {
          show(keyResult, err.message, "error");
        })
        .then(function () {
          add.disabled = false;
        });
    });
  }

  // --- Application variables ----------------------------------------------------------------------------
  function cell(row, child) {
    var td = document.createElement("td");
    if (typeof child === "string") td.textContent = child;
    else if (child) td.appendChild(child);
    row.appendChild(td);
    return td;
  }
  function code(text) {
    var c = document.createElement("code");
    c.textContent = text;
    return c;
  }
  function button(label, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "configure-link";
    b.setAttribute("data-action", action);
    b.textContent = label;
    return b;
  }
  function renderVariables(box, values) {
    var tbody = box.querySelector("tbody");
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    if (values.length === 0) {
      var empty = document.createElement("tr");
      empty.className = "configure-empty";
      var td = cell(empty, "No variables.");
      td.colSpan = 4;
      td.className = "muted";
      tbody.appendChild(empty);
      return;
    }
    values.forEach(function (v) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-name", v.name);
      tr.setAttribute("data-secured", String(v.secured));
      cell(tr, code(v.name));
      cell(tr, v.secured ? "••••" : code(v.value || ""));
      cell(tr, v.secured ? "yes" : "no");
      var actions = cell(tr, button("Edit", "edit"));
      actions.appendChild(document.createTextNode(" "));
      actions.appendChild(button("Delete", "delete"));
      tbody.appendChild(tr);
    });
  }
  function reload(box) {
    var id = box.getAttribute("data-application-id");
    return api("GET", "/api/applications/" + encodeURIComponent(id) + "/variables").then(function (r) {
      renderVariables(box, r.body.values || []);
    });
  }

  // --- An application's switches and branch filter ------------------------------------------------------
  function showSettings(form, app) {
    form.elements.autoBuild.checked = !!app.autoBuild;
    form.elements.autoCancel.checked = !!app.autoCancel;
    form.elements.branchFilter.value = app.branchFilter || "";
  }

  Array.prototype.forEach.call(document.querySelectorAll(".application-settings-form"), function (form) {
    var id = form.closest(".configure-app").getAttribute("data-application-id");
    var status = form.querySelector(".configure-result");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var filter = form.elements.branchFilter.value.trim();
      show(status, "Saving…");
      api("PATCH", "/api/applications/" + encodeURIComponent(id), { autoBuild: form.elements.autoBuild.checked, autoCancel: form.elements.autoCancel.checked, branchFilter: filter || null })
        .then(function (r) {
          showSettings(form, r.body);
          show(status, "Saved: " + (r.body.autoBuild ? (r.body.branchFilter ? "pushes to " + r.body.branchFilter + " are built" : "every push is built") : "pushes are not built") + (r.body.autoCancel ? ", superseded builds stop." : ", superseded builds run on."), "ok");
        })
        .catch(function (err) {
          show(status, err.message, "error");
        });
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll(".configure-app"), function (box) {
    var id = box.getAttribute("data-application-id");
    var form = box.querySelector(".configure-variable-form");
    if (!form) return;
    var status = form.querySelector(".configure-result");
    var path = function (name) {
      return "/api/applications/" + encodeURIComponent(id) + "/variables/" + encodeURIComponent(name);
    };
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var name = form.elements.name.value.trim();
      var secured = form.elements.secured.checked;
      show(status, "Saving…");
      api("PUT", path(name), { value: form.elements.value.value, secured: secured })
        .then(function () {
          form.reset();
          show(status, "Saved " + name + (secured ? " (secured)." : "."), "ok");
          return reload(box);
        })
        .catch(function (err) {
          show(status, err.message, "error");
        });
    });
    box.addEventListener("click", function (ev) {
      var target = ev.target;
      var action = target && target.getAttribute && target.getAttribute("data-action");
      if (!action) return;
      var row = target.closest("tr");
      var name = row.getAttribute("data-name");
      if (action === "edit") {
        var secured = row.getAttribute("data-secured") === "true";
        form.elements.name.value = name;
        form.elements.secured.checked = secured;
        var shown = row.children[1].textContent;
        form.elements.value.value = secured ? "" : shown;
        form.elements.value.placeholder = secured ? "enter a new value to replace the secured one" : "";
        form.elements.value.focus();
        return;
      }
      if (action === "delete") {
        if (!window.confirm("Delete the variable " + name + "?")) return;
        show(status, "Deleting…");
        api("DELETE", path(name))
          .then(function () {
            show(status, "Deleted " + name + ".", "ok");
            return reload(box);
          })
          .catch(function (err) {
            show(status, err.message, "error");
          });
      }
    });
  });
})();
