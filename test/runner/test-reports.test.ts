import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { HostExecutor } from "../../src/runner/executors/host/host-executor";
import type { JobSandbox } from "../../src/runner/executors/executor";
import { collectTestReports } from "../../src/runner/test-reports";

const JUNIT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="math" tests="4">
    <testcase classname="math.Add" name="adds"/>
    <testcase classname="math.Add" name="carries"><failure message="expected 4, got 5" type="AssertionError">at add (math.js:3)
at Object.&lt;anonymous&gt; (math.test.js:9)</failure><system-out>adding 2 and 2</system-out></testcase>
    <testcase classname="math.Div" name="by zero"><skipped/></testcase>
    <testcase classname="math.Div" name="halves"><error message="TypeError: x is undefined"/></testcase>
  </testsuite>
</testsuites>`;

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuite name="bomb"><testcase name="x"><failure message="&lol9;"/></testcase></testsuite>`;

/**
 * Test reports after a step, read the way the runner does: the step's tree listed, the reports copied out by the
 * executor (here the host executor's copy, which keeps links as links), the copies parsed.
 */
describe("runner: test reports found after a step", function () {
  let root: string;
  let stepDir: string;
  let job: JobSandbox;
  let warnings: string[];
  const collect = (declared: string[] = [], limits = {}) => collectTestReports({ job, stepDir, declared, warn: async (l) => void warnings.push(l), limits });
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(stepDir, rel)), { recursive: true });
    fs.writeFileSync(path.join(stepDir, rel), text);
  };

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "test-reports-"));
    job = await new HostExecutor(path.join(root, "work"), path.join(root, "state"), "unit").job();
    stepDir = path.join(job.dir, "step-0");
    fs.mkdirSync(stepDir);
    warnings = [];
  });
  afterEach(async () => {
    await job.release();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("counts passed, failed and skipped tests of a JUnit report, with each failure's message and output", async () => {
    write("build/test-results/test/TEST-math.xml", JUNIT);
    const report = await collect();
    assert.ok(report);
    assert.deepEqual({ files: report.files, passed: report.passed, failed: report.failed, skipped: report.skipped, unreadable: report.unreadable }, { files: 1, passed: 1, failed: 2, skipped: 1, unreadable: 0 });
    assert.equal(report.failures[0].suite, "math.Add");
    assert.equal(report.failures[0].name, "carries");
    assert.equal(report.failures[0].message, "expected 4, got 5");
    assert.equal(report.failures[0].output, "at add (math.js:3)\nat Object.<anonymous> (math.test.js:9)\nadding 2 and 2");
    assert.equal(report.failures[1].message, "TypeError: x is undefined");
    assert.deepEqual(warnings, []);
  });

  it("keeps the first 2,000 characters of a failure's output", async () => {
    write("target/surefire-reports/TEST-long.xml", `<testsuite name="s"><testcase name="t"><failure message="m">${"x".repeat(5000)}</failure></testcase></testsuite>`);
    const report = await collect();
    assert.equal(report?.failures[0].output.length, 2000);
  });

  it("looks where Bitbucket does (report directories 3 levels deep at most), and in the XML files the step declares", async () => {
    write("a/b/c/test-results/deep.xml", JUNIT); // the report directory 4 levels down: not looked at
    write("src/fixtures/data.xml", JUNIT); // not a report directory, not declared
    write("reports/junit/out.xml", JUNIT); // declared as an artifact
    write("TestResults/x.trx.xml", JUNIT);
    const report = await collect(["reports/**"]);
    assert.equal(report?.files, 2);
  });

  it("never reads a report that is a link out of the work tree (test-results/x.xml -> /etc/passwd), nor a linked report directory", async () => {
    fs.mkdirSync(path.join(stepDir, "test-results"));
    fs.symlinkSync("/etc/passwd", path.join(stepDir, "test-results", "x.xml"));
    fs.symlinkSync("/etc", path.join(stepDir, "test-reports"));
    const secret = path.join(root, "outside");
    fs.mkdirSync(secret);
    fs.writeFileSync(path.join(secret, "TEST-secret.xml"), JUNIT);
    fs.symlinkSync(secret, path.join(stepDir, "surefire-reports"));
    const report = await collect(["**"]);
    assert.equal(report, null, "nothing was read");
    assert.deepEqual(warnings, []);
  });

  it("an entity bomb (billion laughs) is refused at once as unreadable, without expanding it; the other reports still count", async () => {
    write("test-results/bomb.xml", BILLION_LAUGHS);
    write("test-results/ok.xml", JUNIT);
    const started = Date.now();
    const report = await collect();
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.ok(report);
    assert.equal(report.unreadable, 1);
    assert.equal(report.files, 1);
    assert.equal(report.failed, 2);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^test report test-results\/bomb\.xml cannot be read: it declares a DOCTYPE, which no test report needs/);
  });

  it("an undeclared entity, broken XML or a file over the size cap is a warning, never a failure", async () => {
    write("test-results/entity.xml", `<testsuite name="s"><testcase name="&boom;"/></testsuite>`);
    write("test-results/broken.xml", `<testsuite name="s"><testcase name="t">`);
    write("test-results/big.xml", `<testsuite name="s">${"<testcase name='t'/>".repeat(200)}</testsuite>`);
    const report = await collect([], { maxFileBytes: 2048 });
    assert.ok(report);
    assert.equal(report.unreadable, 3);
    assert.equal(report.files, 0);
    assert.equal(warnings.length, 3);
    assert.ok(warnings.some((w) => /big\.xml cannot be read: it is larger than/.test(w)), warnings.join("\n"));
    assert.ok(warnings.some((w) => /entity\.xml cannot be read: /.test(w)), warnings.join("\n"));
    assert.ok(warnings.some((w) => /broken\.xml cannot be read: /.test(w)), warnings.join("\n"));
  });

  it("XML in a report directory that is no test report is not counted, and says so", async () => {
    write("test-results/config.xml", `<configuration><x/></configuration>`);
    const report = await collect();
    assert.equal(report, null);
    assert.deepEqual(warnings, ["test-results/config.xml is not a JUnit or xUnit test report (its root element is none of theirs); it is not counted"]);
  });

  it("reads xUnit.net results", async () => {
    write("TestResults/results.xml", `<assemblies><assembly name="a.dll"><collection name="C">
      <test name="C.Passes" type="C" method="Passes" result="Pass"/>
      <test name="C.Fails" type="C" method="Fails" result="Fail"><failure><message>Assert.Equal() Failure</message><stack-trace>at C.Fails()</stack-trace></failure></test>
      <test name="C.Skips" type="C" method="Skips" result="Skip"/></collection></assembly></assemblies>`);
    const report = await collect();
    assert.deepEqual([report?.passed, report?.failed, report?.skipped], [1, 1, 1]);
    assert.deepEqual(report?.failures[0], { suite: "C", name: "C.Fails", message: "Assert.Equal() Failure", output: "at C.Fails()" });
  });
});
