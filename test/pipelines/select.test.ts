import assert from "node:assert/strict";
import { selectPipeline, type PipelineConfig, type SelectedPipeline, type Trigger } from "../../src/pipelines";
import { configOf, fixtureConfig } from "./fixtures";

/** The `name:` of the first step of a selected pipeline (fixture 02 names each step after its pattern). */
function firstStepName(selected: SelectedPipeline | null): unknown {
  const item = selected?.definition[0] as { step?: { name?: unknown } } | undefined;
  return item?.step?.name;
}

function firstScript(selected: SelectedPipeline | null): unknown {
  const item = selected?.definition[0] as { step?: { script?: unknown[] } } | undefined;
  return item?.step?.script?.[0];
}

const branch = (name: string): Trigger => ({ kind: "branch", branch: name });
const tag = (name: string): Trigger => ({ kind: "tag", tag: name });
const pr = (sourceBranch: string, destinationBranch: string): Trigger => ({ kind: "pull-request", sourceBranch, destinationBranch });
const custom = (name: string): Trigger => ({ kind: "custom", name });

describe("selectPipeline", () => {
  describe("branch globs of fixture 02 (feature/*, feature/bb-123-fix-links, *, **, */feature, master, {foo,bar})", () => {
    let config: PipelineConfig;
    before(() => {
      config = fixtureConfig("02-ktomk-pipelines.yml");
    });

    const expectations: [branchName: string, pattern: string, why: string][] = [
      ["feature/bb-123-fix-links", "feature/bb-123-fix-links", "an exact name beats feature/*, which has as many literals"],
      ["feature/login", "feature/*", "8 literals beat ** (0)"],
      ["master", "master", "exact"],
      ["foo", "{foo,bar}", "its alternative foo has 3 literals; * has none"],
      ["bar", "{foo,bar}", "likewise"],
      ["develop", "*", "* and ** both have 0 literals; * has no **"],
      ["team/feature", "*/feature", "8 literals beat **"],
      ["feature/feature", "feature/*", "ties with */feature (8 literals, one *): the first declared wins"],
      ["a/b/c", "**", "the only pattern that crosses two slashes"],
    ];
    for (const [branchName, pattern, why] of expectations) {
      it(`runs "branches: ${pattern}" for ${branchName} (${why})`, () => {
        const selected = selectPipeline(config, branch(branchName));
        assert.equal(selected?.name, `branches: ${pattern}`);
        assert.equal(selected?.key, `branches/${pattern}`);
      });
    }

    it("uses the last of the duplicate master keys", () => {
      assert.equal(firstScript(selectPipeline(config, branch("master"))), 'echo "master duplicate"');
    });

    it("returns the pipeline's items", () => {
      const selected = selectPipeline(config, branch("feature/login"));
      assert.equal(firstStepName(selected), "feature/*");
      assert.equal(selected?.definition.length, 1);
      assert.equal(selected?.variables, undefined);
    });

    it("selects tags by name, and never the default pipeline for a tag", () => {
      assert.equal(selectPipeline(config, tag("v1.0.0"))?.name, "tags: v1.0.0");
      assert.equal(selectPipeline(config, tag("v2.0.0")), null);
    });

    it("selects pull requests by source branch", () => {
      const selected = selectPipeline(config, pr("feature/x", "master"));
      assert.equal(selected?.name, "pull-requests: **");
      assert.equal(selected?.key, "pull-requests/**");
    });

    it("runs custom pipelines only when asked for by name", () => {
      assert.equal(selectPipeline(config, custom("lint-php"))?.key, "custom/lint-php");
      assert.equal(selectPipeline(config, custom("lint-php"))?.definition.length, 4);
      assert.equal(selectPipeline(config, branch("lint-php"))?.name, "branches: *");
      assert.equal(selectPipeline(config, custom("no-such-pipeline")), null);
    });
  });

  describe("the default pipeline", () => {
    it("runs for a branch no pattern matches", () => {
      const config = fixtureConfig("06-emmj0-bitbucket-cicd-project.yml");
      assert.equal(selectPipeline(config, branch("hotfix/x"))?.key, "default");
      assert.equal(selectPipeline(config, branch("feature/x"))?.key, "branches/feature/*");
      assert.equal(selectPipeline(config, branch("master"))?.key, "branches/master");
    });

    it("runs for every branch of a file with only a default", () => {
      const config = fixtureConfig("09-0ryant-taudit.yml");
      assert.equal(selectPipeline(config, branch("anything/at/all"))?.name, "default");
    });

    it("is not there for branch-only files", () => {
      const config = fixtureConfig("13-atlassian-github-for-jira.yml");
      assert.equal(selectPipeline(config, branch("main")), null);
      assert.equal(selectPipeline(config, branch("ght-test-branch"))?.key, "branches/ght-test-branch");
    });

    it("never runs for a tag, a pull request or a custom run", () => {
      const config = fixtureConfig("09-0ryant-taudit.yml");
      assert.equal(selectPipeline(config, tag("v1")), null);
      assert.equal(selectPipeline(config, pr("feature/x", "main")), null);
      assert.equal(selectPipeline(config, custom("default")), null);
    });
  });

  describe("globs in other fixtures", () => {
    it("matches a mid-name star and ** (fixture 03)", () => {
      const config = fixtureConfig("03-4Science-dspace-angular.yml");
      assert.equal(selectPipeline(config, branch("dspace-cris-2025_02_x"))?.key, "branches/dspace-cris-20*_02_x");
      assert.equal(selectPipeline(config, branch("prod/eu/blue"))?.key, "branches/prod/**");
      assert.equal(selectPipeline(config, pr("anything", "main"))?.key, "pull-requests/**");
    });

    it("matches a brace alternation (fixture 05)", () => {
      const config = fixtureConfig("05-3sidedcube-laravel-api-template.yml");
      for (const name of ["feature/a", "hotfix/b", "develop", "main"]) {
        assert.equal(selectPipeline(config, branch(name))?.name, "branches: {feature/*,hotfix/*,develop,main}", name);
      }
      assert.equal(selectPipeline(config, branch("release/1")), null);
    });

    it("selects tags by glob (fixture 10)", () => {
      const config = fixtureConfig("10-56kyle-robust-python-demo.yml");
      assert.equal(selectPipeline(config, tag("v1.2.3"))?.name, "tags: v*");
      assert.equal(selectPipeline(config, tag("1.2.3")), null);
    });

    it("selects pull requests by a source glob only (fixture 06)", () => {
      const config = fixtureConfig("06-emmj0-bitbucket-cicd-project.yml");
      assert.equal(selectPipeline(config, pr("feature/x", "develop"))?.key, "pull-requests/feature/*");
      assert.equal(selectPipeline(config, pr("develop", "master")), null);
    });
  });

  describe("pull-request destinations", () => {
    const config = configOf(`
pipelines:
  pull-requests:
    'feature/*':
      destinations:
        main:
          - step: { name: feature into main, script: [a] }
        'release/*':
          - step: { name: feature into a release, script: [a] }
    '**':
      - step: { name: any pull request, script: [a] }
`);

    it("applies a destinations entry when the destination matches", () => {
      const selected = selectPipeline(config, pr("feature/x", "main"));
      assert.equal(selected?.name, "pull-requests: feature/* (into main)");
      assert.equal(selected?.key, "pull-requests/feature/*/destinations/main");
      assert.equal(firstStepName(selected), "feature into main");
      assert.equal(firstStepName(selectPipeline(config, pr("feature/x", "release/2"))), "feature into a release");
    });

    it("falls back to the next source pattern when no destination matches", () => {
      assert.equal(firstStepName(selectPipeline(config, pr("feature/x", "develop"))), "any pull request");
      assert.equal(firstStepName(selectPipeline(config, pr("hotfix/x", "main"))), "any pull request");
    });

    it("returns null when nothing matches", () => {
      const only = configOf("pipelines:\n  pull-requests:\n    '*':\n      destinations:\n        main:\n          - step: {script: [a]}\n");
      assert.equal(selectPipeline(only, pr("feature/x", "main")), null);
      assert.equal(selectPipeline(only, pr("x", "develop")), null);
      assert.equal(selectPipeline(only, pr("x", "main"))?.key, "pull-requests/*/destinations/main");
    });
  });

  describe("custom pipelines", () => {
    it("returns declared variables and leaves the variables item out of the definition (fixture 14)", () => {
      const selected = selectPipeline(fixtureConfig("14-1atharvad-n8n-self-hosted.yml"), custom("deploy-services"));
      assert.deepEqual(selected?.variables, [{ name: "services", default: "all" }]);
      assert.equal(selected?.definition.length, 3);
      assert.ok(selected?.definition.every((item) => Object.hasOwn(item as object, "step")));
    });

    it("returns a variable with only a name (fixture 01), and allowed values and descriptions", () => {
      assert.deepEqual(selectPipeline(fixtureConfig("01-ktomk-pipelines.yml"), custom("deploy"))?.variables, [{ name: "ENVIRONMENT" }]);
      const config = configOf(`
pipelines:
  custom:
    deploy:
      - variables:
          - name: ENV
            default: staging
            allowed-values: [staging, production]
            description: Where to deploy
          - name: COUNT
            default: 3
      - step: { script: [a] }
`);
      assert.deepEqual(selectPipeline(config, custom("deploy"))?.variables, [
        { name: "ENV", default: "staging", allowedValues: ["staging", "production"], description: "Where to deploy" },
        { name: "COUNT", default: "3" },
      ]);
    });

    it("finds names with slashes and glob characters literally", () => {
      const config = fixtureConfig("01-ktomk-pipelines.yml");
      assert.equal(selectPipeline(config, custom("recursion/middle"))?.key, "custom/recursion/middle");
      const starry = configOf("pipelines:\n  custom:\n    'deploy-*':\n      - step: {script: [a]}\n");
      assert.equal(selectPipeline(starry, custom("deploy-prod")), null);
      assert.equal(selectPipeline(starry, custom("deploy-*"))?.key, "custom/deploy-*");
    });
  });

  it("reports an imported (shared) pipeline by reference, with no items (validation refuses it; see parse tests)", () => {
    const config: PipelineConfig = { pipelines: { branches: { main: { import: "shared-repo:main:build" } } } };
    assert.deepEqual(selectPipeline(config, branch("main")), {
      name: "branches: main",
      key: "branches/main",
      definition: [],
      importRef: "shared-repo:main:build",
    });
  });
});
