// The builds page's schedules: add, switch on and off, delete (the JSON API); the list is re-read after each change.
(function () {
  "use strict";
  var P = window.Pipelines;
  var box = document.querySelector('[data-testid="schedules"]');
  if (!P || !box) return;
  var id = box.getAttribute("data-application-id");
  var path = "/api/applications/" + encodeURIComponent(id) + "/schedules";

  function done(text) {
    P.message(text + " Reload the page to see the schedules as stored.", "success");
  }
  function fail(err) {
    P.message(err.message, "error");
  }

  box.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var form = ev.target;
    var body = { branch: form.elements.branch.value.trim(), cron: form.elements.cron.value.trim(), timezone: form.elements.timezone.value.trim() || "UTC" };
    var pipeline = form.elements.pipeline.value.trim();
    if (pipeline) body.pipeline = pipeline;
    P.api("POST", path, body)
      .then(function (s) {
        form.reset();
        done("Scheduled " + (s.pipeline || "the pipeline of " + s.branch) + "; next run " + s.nextRunAt + ".");
      })
      .catch(fail);
  });
  box.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!input || input.getAttribute("data-action") !== "schedule-enabled") return;
    var sid = input.closest("tr").getAttribute("data-schedule-id");
    P.api("PATCH", path + "/" + encodeURIComponent(sid), { enabled: input.checked })
      .then(function () {
        done(input.checked ? "Schedule on." : "Schedule off.");
      })
      .catch(function (err) {
        input.checked = !input.checked;
        fail(err);
      });
  });
  box.addEventListener("click", function (ev) {
    var button = ev.target;
    if (!button || button.getAttribute("data-action") !== "schedule-delete") return;
    var row = button.closest("tr");
    P.api("DELETE", path + "/" + encodeURIComponent(row.getAttribute("data-schedule-id")))
      .then(function () {
        row.remove();
        done("Schedule deleted.");
      })
      .catch(fail);
  });
})();
