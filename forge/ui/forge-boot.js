/* global document, window */
// The Pipelines pages inside Bitbucket through the operator's Forge app (Custom UI). Forge hosts this folder and gives
// the page its bridge (window.__bridge, what @forge/bridge calls). The page asks the app's backend for the same page
// the Connect and standalone doors render (invokeRemote → /forge/ui/pages/…, answered as JSON {html, scripts,
// styles}), puts it in, and then loads the page's own styles and runs its own scripts from this folder (pipelines.js,
// panel.js, builds.js, deployments.js, configure.js…, the files the page lists), whose calls go through Forge too.
(function () {
  "use strict";
  var bridge = window.__bridge;
  // The manifest's UI modules (one resource, these module keys) and the page of the remote each one shows.
  var PAGES = { "pipelines-panel": "panel", "pipelines-builds": "builds", "pipelines-deployments": "deployments", "pipelines-settings": "settings" };
  // A page's own files only: they are in this folder, next to this script.
  var PAGE_FILE = /^[a-z][a-z0-9-]*\.(js|css)$/;

  function call(name, payload) {
    return bridge.callBridge(name, payload);
  }

  /** invokeRemote, as @forge/bridge does it: the answer is {status, headers, body} (body: the remote's JSON). */
  function invoke(input) {
    return call("invoke", { path: input.path, method: input.method, headers: input.headers, body: input.body, invokeType: "ui-remote-fetch" }).then(function (r) {
      var out = (r && (r.success ? r.payload : r.error)) || {};
      return { status: out.status || 500, headers: out.headers || {}, body: out.body };
    });
  }

  function notice(text) {
    var el = document.querySelector('[data-testid="forge-notice"]');
    el.textContent = text;
    el.hidden = !text;
  }

  function loadStyle(href) {
    return new Promise(function (resolve, reject) {
      var l = document.createElement("link");
      l.rel = "stylesheet";
      l.href = href;
      l.onload = resolve;
      l.onerror = function () {
        reject(new Error("could not load " + href));
      };
      document.head.appendChild(l);
    });
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = function () {
        reject(new Error("could not load " + src));
      };
      document.head.appendChild(s);
    });
  }

  /** `?build=` of the page's address in Bitbucket (a commit status links there), when Forge tells it. */
  function buildParam(ctx) {
    var location = ctx && ctx.extension && typeof ctx.extension.location === "string" ? ctx.extension.location : "";
    var m = /[?&]build=(\d+)/.exec(location);
    return m ? "?build=" + m[1] : "";
  }

  // Links out of the frame (to another page of Bitbucket) go through Forge's router.
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest('a[target="_top"]');
    if (!a) return;
    e.preventDefault();
    call("navigate", { url: a.href, type: "same-tab" });
  });

  if (!bridge || typeof bridge.callBridge !== "function") {
    notice("Open this page inside Bitbucket: it needs Forge's bridge.");
    return;
  }
  window.PipelinesForge = { invoke: invoke };
  call("getContext")
    .then(function (ctx) {
      var page = PAGES[ctx && ctx.moduleKey] || "panel";
      return invoke({ path: "/forge/ui/pages/" + page + (page === "builds" ? buildParam(ctx) : ""), method: "GET" }).then(function (res) {
        if (!res.body || typeof res.body.html !== "string") throw new Error((res.body && res.body.error) || "Pipelines did not answer (HTTP " + res.status + ").");
        if (res.body.installation && res.body.installation.state !== "active") notice("This installation is inactive: " + (res.body.installation.reason || "no reason given") + ". Statuses are not posted.");
        var styles = (res.body.styles || []).filter(function (f) {
          return PAGE_FILE.test(f);
        });
        var scripts = (res.body.scripts || []).filter(function (f) {
          return PAGE_FILE.test(f);
        });
        return Promise.all(styles.map(loadStyle)).then(function () {
          // Server-rendered by the app, everything escaped there (the same HTML its own pages show).
          document.getElementById("pipelines-page").innerHTML = res.body.html;
          // In order, as the page's layout would run them (pipelines.js first).
          return scripts.reduce(function (done, src) {
            return done.then(function () {
              return loadScript(src);
            });
          }, Promise.resolve());
        });
      });
    })
    .catch(function (err) {
      notice(err.message);
    });
})();
