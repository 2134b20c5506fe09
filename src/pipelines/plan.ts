/**
 * Turns a selected pipeline into the flat list of steps a runner executes.
 *
 * The plan says what the file asks for; the runner decides, per executor, what it can honour: an `image`, the
 * `services` and a `- pipe:` script item (a `PipeItem`, kept as written) run only on an executor with containers,
 * and the runner says so itself (see `containerWarning` for the wording). What no executor can do is refused earlier,
 * by validation (`parsePipelineFile`): shared pipelines (`import:`), child pipelines (`type: pipeline`), the
 * `retry` failure strategy, sizes above 8x.
 */
import { childPipelineUnsupported, importUnsupported } from "./support-rules";
import type {
  ArtifactUpload,
  ImageSpec,
  PipeItem,
  Plan,
  PlanOptions,
  PlanStage,
  PipelineConfig,
  ScriptItem,
  SelectedPipeline,
  ServiceSpec,
  StepCondition,
  StepPlan,
} from "./types";

export { changesetMatches } from "./changesets";

/** Bitbucket's clone depth when the file sets none. */
export const DEFAULT_CLONE_DEPTH = 50;
/** Bitbucket's step time limit, in minutes, when the file sets none. */
export const DEFAULT_MAX_TIME_MINUTES = 120;

/** Why an executor without containers cannot run a pipe (the runner's words). */
export const PIPE_UNSUPPORTED = "pipes need a Docker runner; this runner executes steps as shell processes";
/** Why an executor without containers cannot honour an image or services (the runner's words). */
export const NOT_HONOURED = "this runner runs steps as shell processes on the host";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

function texts(value: unknown): string[] {
  return Array.isArray(value) ? value.map(asText).filter((v): v is string => v !== undefined) : [];
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** `clone.depth`: a positive number, or `full` (0: no `--depth`). */
function cloneDepthOf(clone: unknown): number | undefined {
  if (!isRecord(clone)) return undefined;
  if (clone.depth === "full") return 0;
  return positiveInteger(clone.depth);
}

function cloneLfsOf(clone: unknown): boolean | undefined {
  return isRecord(clone) && typeof clone.lfs === "boolean" ? clone.lfs : undefined;
}

function cloneEnabledOf(clone: unknown): boolean | undefined {
  return isRecord(clone) && typeof clone.enabled === "boolean" ? clone.enabled : undefined;
}

/** `image: name` or `image: { name, username, password, email, run-as-user }`. */
export function imageSpec(image: unknown): ImageSpec | undefined {
  if (!isRecord(image)) {
    const name = asText(image);
    return name === undefined || name.trim() === "" ? undefined : { name: name.trim() };
  }
  const name = asText(image.name);
  if (name === undefined || name.trim() === "") return undefined;
  const spec: ImageSpec = { name: name.trim() };
  const username = asText(image.username);
  const password = asText(image.password);
  const email = asText(image.email);
  if (username !== undefined) spec.username = username;
  if (password !== undefined) spec.password = password;
  if (email !== undefined) spec.email = email;
  const runAs = image["run-as-user"];
  if (typeof runAs === "number" && Number.isInteger(runAs) && runAs >= 0) spec.runAsUser = runAs;
  else if (typeof runAs === "string" && /^\d+$/.test(runAs)) spec.runAsUser = Number(runAs);
  return spec;
}

/** A step's `size` (or the file's `options.size`): 1x, 2x, 4x or 8x as a number; undefined when unset (validation refuses others). */
function sizeOf(value: unknown): number | undefined {
  const sizes: Record<string, number> = { "1x": 1, "2x": 2, "4x": 4, "8x": 8 };
  return typeof value === "string" && Object.hasOwn(sizes, value) ? sizes[value] : undefined;
}

/** The services a step names, resolved from `definitions.services` (`docker` may be undefined there). */
function serviceSpecs(names: readonly string[], definitions: Record<string, unknown>): ServiceSpec[] {
  return names.map((name) => {
    const def = Object.hasOwn(definitions, name) && isRecord(definitions[name]) ? (definitions[name] as Record<string, unknown>) : {};
    const spec: ServiceSpec = { name, variables: {} };
    const image = imageSpec(def.image);
    if (image) spec.image = image;
    if (isRecord(def.variables)) {
      for (const [k, v] of Object.entries(def.variables)) {
        const text = asText(v);
        if (text !== undefined) spec.variables[k] = text;
      }
    }
    const memory = positiveInteger(def.memory);
    if (memory !== undefined) spec.memoryMb = memory;
    const type = asText(def.type);
    if (type !== undefined) spec.type = type;
    else if (name === "docker") spec.type = "docker";
    return spec;
  });
}

/**
 * `oidc: true` (the default audience, or `options.oidc`'s audiences), `oidc: {audiences: [...]}`, or `oidc: false`;
 * a step that says nothing takes `options.oidc`. Undefined: no token.
 */
function oidcOf(value: unknown, fallback: { audiences: string[] } | undefined): { audiences: string[] } | undefined {
  if (value === true) return { audiences: fallback?.audiences ?? [] };
  if (isRecord(value)) return { audiences: texts(value.audiences) };
  if (value === false) return undefined;
  return fallback;
}

/** `on-fail: {strategy: ignore}` → true, `{strategy: fail}` → false, anything else → undefined (not said). */
function ignoresFailure(value: unknown): boolean | undefined {
  if (!isRecord(value)) return undefined;
  if (value.strategy === "ignore") return true;
  if (value.strategy === "fail") return false;
  return undefined;
}

function runsOnOf(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return texts(value);
  if (typeof value === "string") return [value];
  return undefined;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A shell line that prints `message` to stderr and fails the step. */
export function failingLine(message: string): string {
  return `echo ${shellQuote(message)} >&2; exit 1`;
}

function conditionOf(condition: unknown): StepCondition | undefined {
  if (!isRecord(condition) || !isRecord(condition.changesets)) return undefined;
  return { includePaths: texts(condition.changesets.includePaths), excludePaths: texts(condition.changesets.excludePaths) };
}

/** `artifacts: [globs]` or `artifacts: { paths, download, upload: [{ name, paths, type, ignore-paths, capture-on, depth }] }`. */
function artifactsOf(artifacts: unknown): { paths: string[]; download: boolean | string[]; uploads: ArtifactUpload[] } {
  const plain = (paths: string[]): ArtifactUpload[] => (paths.length ? [{ name: "artifacts", paths, type: "shared", ignorePaths: [], captureOn: "success" }] : []);
  if (Array.isArray(artifacts)) return { paths: texts(artifacts), download: true, uploads: plain(texts(artifacts)) };
  if (!isRecord(artifacts)) return { paths: [], download: true, uploads: [] };
  const paths = texts(artifacts.paths);
  const uploads = plain([...paths]);
  if (Array.isArray(artifacts.upload)) {
    for (const upload of artifacts.upload) {
      if (!isRecord(upload)) continue;
      const globs = texts(upload.paths);
      paths.push(...globs);
      const type = upload.type === "scoped" || upload.type === "test-reports" ? upload.type : "shared";
      const captureOn = upload["capture-on"] === "failed" || upload["capture-on"] === "always" ? upload["capture-on"] : "success";
      const depth = positiveInteger(upload.depth);
      const name = typeof upload.name === "string" && upload.name.trim() ? upload.name.trim().slice(0, 200) : `artifact ${uploads.length + 1}`;
      uploads.push({ name, paths: globs, type, ignorePaths: texts(upload["ignore-paths"]), captureOn, ...(depth ? { depth } : {}) });
    }
  }
  const download = typeof artifacts.download === "boolean" ? artifacts.download : Array.isArray(artifacts.download) ? texts(artifacts.download) : true;
  return { paths, download, uploads };
}

function quotedList(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(", ");
}

/**
 * The words for a step whose image or services an executor cannot honour (`because` says why), or undefined when
 * it asks for neither. The plan never adds it: the runner does, for the executors that need it.
 */
export function containerWarning(image: string | undefined, services: readonly string[], because: string = NOT_HONOURED): string | undefined {
  const parts: string[] = [];
  if (image !== undefined) parts.push(`image "${image}"`);
  if (services.length > 0) parts.push(`${services.length === 1 ? "service" : "services"} ${quotedList(services)}`);
  if (parts.length === 0) return undefined;
  const verb = parts.length > 1 || services.length > 1 ? "are" : "is";
  return `${parts.join(" and ")} ${verb} ignored: ${because}`;
}

/** A pipe's `variables` as written: text as text, numbers and booleans as text, lists as lists of text. */
function pipeVariables(value: unknown): Record<string, string | string[]> {
  const variables: Record<string, string | string[]> = {};
  if (!isRecord(value)) return variables;
  for (const [name, raw] of Object.entries(value)) {
    if (Array.isArray(raw)) variables[name] = texts(raw);
    else {
      const text = asText(raw);
      // An empty value is skipped, as validation warns.
      if (text !== undefined) variables[name] = text;
    }
  }
  return variables;
}

/** Script items: text as written, numbers as text, empty items skipped, `- pipe:` items as pipes. */
function scriptItems(script: unknown): ScriptItem[] {
  if (!Array.isArray(script)) return [];
  const items: ScriptItem[] = [];
  for (const item of script) {
    const text = asText(item);
    if (text !== undefined) {
      items.push(text);
    } else if (isRecord(item) && Object.hasOwn(item, "pipe")) {
      const pipe: PipeItem = { pipe: asText(item.pipe) ?? "", variables: pipeVariables(item.variables) };
      items.push(pipe);
    }
  }
  return items;
}

interface Defaults {
  maxTimeMinutes: number;
  image?: ImageSpec;
  dockerEverywhere: boolean;
  cloneEnabled: boolean;
  size: number;
  runsOn: string[];
  oidc?: { audiences: string[] };
  serviceDefinitions: Record<string, unknown>;
}

interface Placement {
  parallelGroup?: number;
  groupFailFast?: boolean;
  /** `on-fail` of the enclosing parallel group or stage (a step's own wins). */
  ignoreFailure?: boolean;
  stage?: PlanStage;
  stageCondition?: StepCondition;
}

class Planner {
  readonly steps: StepPlan[] = [];
  readonly stages: PlanStage[] = [];
  readonly warnings: string[] = [];
  private parallelGroups = 0;
  private readonly unnamed = new Set<number>();

  constructor(private readonly defaults: Defaults) {}

  items(items: readonly unknown[], where: string, placement: Placement = {}): void {
    items.forEach((item, i) => {
      const label = `${where} item ${i + 1}`;
      if (isRecord(item) && Object.hasOwn(item, "step")) this.step(item.step, placement);
      else if (isRecord(item) && Object.hasOwn(item, "parallel")) this.parallel(item.parallel, label, placement);
      else if (isRecord(item) && Object.hasOwn(item, "stage") && !placement.stage) this.stage(item.stage, label);
      else if (isRecord(item) && Object.hasOwn(item, "variables")) return;
      else this.warnings.push(`${label} is not a step, parallel group or stage; it is skipped`);
    });
  }

  private parallel(value: unknown, label: string, placement: Placement): void {
    // `parallel: [- step: ...]` or `parallel: { fail-fast: true, steps: [- step: ...] }`.
    const steps = Array.isArray(value) ? value : isRecord(value) && Array.isArray(value.steps) ? value.steps : undefined;
    if (!steps) {
      this.warnings.push(`${label} is a parallel group without steps; it is skipped`);
      return;
    }
    const group = this.parallelGroups++;
    const groupFailFast = isRecord(value) && value["fail-fast"] === true;
    const ignoreFailure = (isRecord(value) ? ignoresFailure(value["on-fail"]) : undefined) ?? placement.ignoreFailure;
    this.items(steps, `${label} (parallel)`, { ...placement, parallelGroup: group, groupFailFast, ignoreFailure });
  }

  private stage(value: unknown, label: string): void {
    if (!isRecord(value) || !Array.isArray(value.steps)) {
      this.warnings.push(`${label} is a stage without steps; it is skipped`);
      return;
    }
    const stage: PlanStage = {
      index: this.stages.length,
      name: asText(value.name) ?? `Stage ${this.stages.length + 1}`,
      manual: value.trigger === "manual",
      stepIndexes: [],
    };
    const deployment = asText(value.deployment);
    if (deployment !== undefined) stage.deployment = deployment;
    const condition = conditionOf(value.condition);
    if (condition) stage.condition = condition;
    this.stages.push(stage);
    this.items(value.steps, `${label} (stage "${stage.name}")`, { stage, stageCondition: condition, ignoreFailure: ignoresFailure(value["on-fail"]) });
  }

  private step(value: unknown, placement: Placement): void {
    const step = isRecord(value) ? value : {};
    const index = this.steps.length;
    const warnings: string[] = [];
    const { stage } = placement;

    const name = asText(step.name);
    if (name === undefined) this.unnamed.add(index);

    let script = scriptItems(step.script);
    if (step.type === "pipeline") {
      // Validation refuses child pipelines; a plan made from an unchecked file still must not run nothing quietly.
      const unsupported = childPipelineUnsupported(asText(step.custom));
      script = [failingLine(unsupported)];
      warnings.push(`${unsupported}; the step fails`);
    }
    const afterScript = scriptItems(step["after-script"]);

    const image = imageSpec(step.image) ?? this.defaults.image;
    const services = texts(step.services);
    if (this.defaults.dockerEverywhere && !services.includes("docker")) services.push("docker");

    const artifacts = artifactsOf(step.artifacts);
    const plan: StepPlan = {
      index,
      name: name ?? "",
      script,
      afterScript,
      maxTimeMinutes: positiveInteger(step["max-time"]) ?? this.defaults.maxTimeMinutes,
      manual: step.trigger === "manual" || (stage !== undefined && stage.manual && stage.stepIndexes.length === 0),
      artifacts: artifacts.paths,
      artifactUploads: artifacts.uploads,
      downloadArtifacts: artifacts.download,
      caches: texts(step.caches),
      services: serviceSpecs(services, this.defaults.serviceDefinitions),
      size: sizeOf(step.size) ?? this.defaults.size,
      outputVariables: texts(step["output-variables"]),
      ignoreFailure: ignoresFailure(step["on-fail"]) ?? placement.ignoreFailure ?? false,
      runsOn: runsOnOf(step["runs-on"]) ?? this.defaults.runsOn,
      failFast: placement.parallelGroup !== undefined && (typeof step["fail-fast"] === "boolean" ? step["fail-fast"] : placement.groupFailFast === true),
      cloneEnabled: cloneEnabledOf(step.clone) ?? this.defaults.cloneEnabled,
      warnings,
    };
    const deployment = asText(step.deployment) ?? stage?.deployment;
    if (deployment !== undefined) plan.deployment = deployment;
    const concurrencyGroup = asText(step["concurrency-group"]);
    if (concurrencyGroup !== undefined && concurrencyGroup.trim() !== "") plan.concurrencyGroup = concurrencyGroup.trim();
    const condition = conditionOf(step.condition) ?? placement.stageCondition;
    if (condition) plan.condition = condition;
    if (image !== undefined) plan.image = image;
    const oidc = oidcOf(step.oidc, this.defaults.oidc);
    if (oidc) plan.oidc = oidc;
    if (placement.parallelGroup !== undefined) plan.parallelGroup = placement.parallelGroup;
    if (stage) {
      plan.stageName = stage.name;
      stage.stepIndexes.push(index);
    }
    const cloneDepth = cloneDepthOf(step.clone);
    if (cloneDepth !== undefined) plan.cloneDepth = cloneDepth;
    const cloneLfs = cloneLfsOf(step.clone);
    if (cloneLfs !== undefined) plan.cloneLfs = cloneLfs;
    this.steps.push(plan);
  }

  /** Unnamed steps: "Build" when the pipeline has just that one step, else "Step N" (1-based). */
  nameUnnamedSteps(): void {
    for (const index of this.unnamed) {
      const step = this.steps[index];
      if (step) step.name = this.steps.length === 1 ? "Build" : `Step ${index + 1}`;
    }
  }
}

/** Bitbucket's predefined caches and the directory each keeps (`~` is the step's HOME). */
export const BUILTIN_CACHES: Readonly<Record<string, string>> = {
  composer: "~/.composer/cache",
  dotnetcore: "~/.nuget/packages",
  gradle: "~/.gradle/caches",
  ivy2: "~/.ivy2/cache",
  maven: "~/.m2/repository",
  node: "node_modules",
  pip: "~/.cache/pip",
  sbt: "~/.sbt",
};

/**
 * The directory of every cache a step uses: `definitions.caches.<name>` (a path, or `{path: …}`) first, then the
 * predefined ones. A name that is neither (or `docker`, which a shell runner cannot keep) is left out; the step
 * says so in a warning.
 */
function cachePaths(config: PipelineConfig, steps: StepPlan[]): Record<string, string> {
  const definitions = isRecord(config.definitions) && isRecord(config.definitions.caches) ? config.definitions.caches : {};
  const out: Record<string, string> = {};
  for (const step of steps) {
    for (const name of step.caches) {
      const def = Object.hasOwn(definitions, name) ? definitions[name] : undefined;
      const path = typeof def === "string" ? def : isRecord(def) && typeof def.path === "string" ? def.path : Object.hasOwn(BUILTIN_CACHES, name) ? BUILTIN_CACHES[name] : undefined;
      if (path !== undefined && path.trim() !== "") out[name] = path.trim();
      else step.warnings.push(name === "docker" ? `the docker cache needs a Docker runner; ${NOT_HONOURED}` : `cache "${name}" is not defined in definitions.caches and is not a predefined cache; it is not kept`);
    }
  }
  return out;
}

/**
 * Flattens `selected` (from `selectPipeline`) into steps in run order, with the file's global settings
 * (`clone`, `options.max-time`, `options.docker`, `image`) applied. Steps of a `parallel` group share a
 * `parallelGroup` number; steps of a `stage` share a `stageName` and are listed in `stages`.
 * `condition` is recorded, not evaluated: use `changesetMatches` once the changed files are known.
 */
export function planPipeline(config: PipelineConfig, selected: SelectedPipeline, opts: PlanOptions = {}): Plan {
  const options = isRecord(config.options) ? config.options : {};
  const cloneEnabled = cloneEnabledOf(config.clone) ?? true;
  const maxTimeMinutes = positiveInteger(options["max-time"]) ?? opts.defaultMaxTimeMinutes ?? DEFAULT_MAX_TIME_MINUTES;
  const definitions = isRecord(config.definitions) ? config.definitions : {};
  const planner = new Planner({
    maxTimeMinutes,
    image: imageSpec(config.image),
    dockerEverywhere: options.docker === true,
    cloneEnabled,
    size: sizeOf(options.size) ?? 1,
    runsOn: runsOnOf(options["runs-on"]) ?? [],
    oidc: oidcOf(options.oidc, undefined),
    serviceDefinitions: isRecord(definitions.services) ? definitions.services : {},
  });

  if (selected.importRef !== undefined) {
    // Validation refuses it; a plan made from an unchecked file says why nothing runs.
    planner.warnings.push(`"${selected.name}": ${importUnsupported(selected.importRef)}; nothing runs`);
  }
  planner.items(selected.definition, selected.name);
  planner.nameUnnamedSteps();

  return {
    cloneDepth: cloneDepthOf(config.clone) ?? opts.defaultCloneDepth ?? DEFAULT_CLONE_DEPTH,
    cloneEnabled,
    ...(cloneLfsOf(config.clone) === true ? { cloneLfs: true } : {}),
    maxTimeMinutes,
    caches: cachePaths(config, planner.steps),
    stages: planner.stages,
    steps: planner.steps,
    warnings: planner.warnings,
  };
}
