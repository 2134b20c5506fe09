/**
 * What a valid file may still ask for that Pipelines for Bitbucket cannot do as written, and what Bitbucket itself
 * refuses that the schema lets through. Nothing a file asks for is ignored silently: what cannot be honoured and
 * would change the outcome is an error saying so; what makes no difference here is a warning.
 *
 * Run after YAML loading, beside the schema check; shapes the schema already reports (a step that is not a mapping,
 * a size that is not a size) are skipped here.
 */
import type { ConfigPath } from "./diagnostic";
import { MAX_GLOB_LENGTH } from "./glob";
import { count } from "./limits";
import type { RuleFinding } from "./rules";

/** Step sizes Pipelines for Bitbucket runs: the step's memory is the size × the runner's 1x memory. */
export const SUPPORTED_SIZES = ["1x", "2x", "4x", "8x"] as const;

/** Bitbucket runs at most this many steps in one pipeline (parallel and stage steps included). */
export const MAX_STEPS_PER_PIPELINE = 100;

export function importUnsupported(ref: string): string {
  return `shared pipelines (import: ${JSON.stringify(ref)}) are not supported by Pipelines for Bitbucket yet; copy the steps of the shared pipeline into this file`;
}

export function childPipelineUnsupported(custom: string | undefined): string {
  const target = custom === undefined ? "" : `; put the steps of the custom pipeline "${custom}" here instead`;
  return `child pipelines (type: pipeline) are not supported by Pipelines for Bitbucket yet${target}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function quoted(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(", ");
}

class SupportChecker {
  readonly findings: RuleFinding[] = [];
  private readonly services: Record<string, unknown>;

  constructor(private readonly config: Record<string, unknown>) {
    const definitions = isRecord(config.definitions) ? config.definitions : {};
    this.services = isRecord(definitions.services) ? definitions.services : {};
  }

  private error(path: ConfigPath, message: string): void {
    this.findings.push({ severity: "error", path, message });
  }

  private warning(path: ConfigPath, message: string): void {
    this.findings.push({ severity: "warning", path, message });
  }

  check(): void {
    const options = this.config.options;
    if (isRecord(options)) {
      this.size(options.size, ["options", "size"]);
      if (Object.hasOwn(options, "runtime")) this.runtime(["options", "runtime"]);
    }
    this.clone(this.config.clone, ["clone"]);
    const pipelines = this.config.pipelines;
    if (!isRecord(pipelines)) return;
    if (Object.hasOwn(pipelines, "default")) this.pipeline(pipelines.default, ["pipelines", "default"]);
    for (const section of ["branches", "tags", "custom", "pull-requests"] as const) {
      const entries = pipelines[section];
      if (!isRecord(entries)) continue;
      for (const [key, value] of Object.entries(entries)) {
        const path = ["pipelines", section, key];
        if (section !== "custom") this.glob(key, path, `${section === "tags" ? "tag" : "branch"} pattern`);
        if (section === "pull-requests" && isRecord(value) && isRecord(value.destinations)) {
          for (const [destination, target] of Object.entries(value.destinations)) {
            const at = [...path, "destinations", destination];
            this.glob(destination, at, "destination branch pattern");
            this.pipeline(target, at);
          }
        } else {
          this.pipeline(value, path);
        }
      }
    }
  }

  /** A glob the service matches: at most `MAX_GLOB_LENGTH` characters. */
  private glob(pattern: unknown, path: ConfigPath, what: string): void {
    if (typeof pattern !== "string" || pattern.length <= MAX_GLOB_LENGTH) return;
    this.error(path, `this ${what} is ${count(pattern.length)} characters long; a glob may have at most ${count(MAX_GLOB_LENGTH)}`);
  }

  private globs(list: unknown, path: ConfigPath, what: string): void {
    if (Array.isArray(list)) list.forEach((pattern, i) => this.glob(pattern, [...path, i], what));
  }

  private pipeline(value: unknown, path: ConfigPath): void {
    if (isRecord(value) && typeof value.import === "string") {
      this.error([...path, "import"], importUnsupported(value.import));
      return;
    }
    if (!Array.isArray(value)) return;
    const steps = this.items(value, path);
    if (steps > MAX_STEPS_PER_PIPELINE) {
      this.error(path, `this pipeline has ${steps} steps; Bitbucket runs at most ${MAX_STEPS_PER_PIPELINE} in one pipeline (parallel and stage steps included)`);
    }
  }

  /** Checks the items of a pipeline, a parallel group or a stage; returns how many steps they hold. */
  private items(items: readonly unknown[], path: ConfigPath): number {
    let steps = 0;
    items.forEach((item, i) => {
      if (!isRecord(item)) return;
      const at = [...path, i];
      if (Object.hasOwn(item, "step")) {
        this.step(item.step, [...at, "step"]);
        steps++;
      } else if (Object.hasOwn(item, "parallel")) {
        const group = item.parallel;
        if (Array.isArray(group)) {
          steps += this.items(group, [...at, "parallel"]);
        } else if (isRecord(group)) {
          this.onFail(group["on-fail"], [...at, "parallel", "on-fail"]);
          if (Array.isArray(group.steps)) steps += this.items(group.steps, [...at, "parallel", "steps"]);
        }
      } else if (Object.hasOwn(item, "stage") && isRecord(item.stage)) {
        const stage = item.stage;
        this.onFail(stage["on-fail"], [...at, "stage", "on-fail"]);
        if (stage.condition !== undefined) this.condition(stage.condition, [...at, "stage", "condition"]);
        if (Array.isArray(stage.steps)) steps += this.items(stage.steps, [...at, "stage", "steps"]);
      }
    });
    return steps;
  }

  private step(value: unknown, path: ConfigPath): void {
    if (!isRecord(value)) return;
    if (value.type === "pipeline") {
      this.error([...path, "type"], childPipelineUnsupported(typeof value.custom === "string" ? value.custom : undefined));
      return;
    }
    if (!Object.hasOwn(value, "script")) {
      this.error(path, 'this step has no "script": every step needs the list of commands (or pipes) it runs');
    }
    this.size(value.size, [...path, "size"]);
    this.onFail(value["on-fail"], [...path, "on-fail"]);
    this.clone(value.clone, [...path, "clone"]);
    if (Object.hasOwn(value, "runtime")) this.runtime([...path, "runtime"]);
    if (Object.hasOwn(value, "concurrency-group") && (typeof value["concurrency-group"] !== "string" || value["concurrency-group"].trim() === "")) {
      this.error([...path, "concurrency-group"], "concurrency-group must be a name (steps with the same name run one at a time across the application's builds)");
    }
    if (Array.isArray(value.services)) {
      value.services.forEach((name, i) => {
        if (typeof name === "string" && name !== "docker" && !Object.hasOwn(this.services, name)) {
          const defined = Object.keys(this.services);
          this.error([...path, "services", i], `service "${name}" is not defined under definitions.services${defined.length > 0 ? ` (defined: ${quoted(defined)})` : ""}`);
        }
      });
    }
    if (value.condition !== undefined) this.condition(value.condition, [...path, "condition"]);
    const artifacts = value.artifacts;
    if (Array.isArray(artifacts)) this.globs(artifacts, [...path, "artifacts"], "artifact path");
    else if (isRecord(artifacts)) {
      this.globs(artifacts.paths, [...path, "artifacts", "paths"], "artifact path");
      if (Array.isArray(artifacts.upload)) {
        artifacts.upload.forEach((upload, i) => {
          if (isRecord(upload)) this.globs(upload.paths, [...path, "artifacts", "upload", i, "paths"], "artifact path");
        });
      }
    }
  }

  private condition(value: unknown, path: ConfigPath): void {
    if (!isRecord(value) || !isRecord(value.changesets)) return;
    this.globs(value.changesets.includePaths, [...path, "changesets", "includePaths"], "path pattern");
    this.globs(value.changesets.excludePaths, [...path, "changesets", "excludePaths"], "path pattern");
  }

  private size(value: unknown, path: ConfigPath): void {
    // Values outside the schema's sizes are reported by the schema check.
    if (value === "16x" || value === "32x") {
      this.error(path, `size ${value} is not supported by Pipelines for Bitbucket: use ${SUPPORTED_SIZES.join(", ")}`);
    }
  }

  private onFail(value: unknown, path: ConfigPath): void {
    if (!isRecord(value)) return;
    if (value.strategy === "retry") {
      this.error([...path, "strategy"], 'the "retry" failure strategy is not supported by Pipelines for Bitbucket yet; "fail" and "ignore" are');
    } else if (Object.hasOwn(value, "maxRetryCount")) {
      this.warning([...path, "maxRetryCount"], 'maxRetryCount only applies to the "retry" strategy; it is ignored');
    }
  }

  private clone(value: unknown, path: ConfigPath): void {
    if (!isRecord(value)) return;
    if (value["skip-ssl-verify"] === true) {
      this.warning([...path, "skip-ssl-verify"], "skip-ssl-verify has no effect: Pipelines for Bitbucket always verifies Bitbucket's certificate");
    }
  }

  private runtime(path: ConfigPath): void {
    this.warning(path, "runtime chooses Bitbucket Cloud's own step runtime (architecture, IP ranges); it has no effect on Pipelines for Bitbucket, whose runner decides where steps run");
  }
}

/** Checks what the schema cannot: features this service does not run, and Bitbucket's own limits. */
export function checkSupport(config: Record<string, unknown>): RuleFinding[] {
  const checker = new SupportChecker(config);
  checker.check();
  return checker.findings;
}
