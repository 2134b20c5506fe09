import fs from "node:fs";
import path from "node:path";
import Handlebars from "handlebars";

type Render = (file: string, options: object, callback: (err: unknown, html?: string) => void) => void;

/**
 * Handlebars views from `views/`, each rendered inside `views/layout.hbs` (`{{{body}}}`), with partials from
 * `views/partials/`; with `layout: false` in the options, the view alone (a fragment). Templates are compiled once
 * and cached (outside development). Output is HTML-escaped by default; views never receive secrets.
 */
export function handlebarsEngine(viewsDir: string, cache: boolean): Render {
  const hb = Handlebars.create();
  const compiled = new Map<string, HandlebarsTemplateDelegate>();
  const partialsDir = path.join(viewsDir, "partials");
  const load = (file: string) => {
    let t = cache ? compiled.get(file) : undefined;
    if (!t) {
      t = hb.compile(fs.readFileSync(file, "utf8"), { strict: false });
      compiled.set(file, t);
    }
    return t;
  };
  if (fs.existsSync(partialsDir)) {
    for (const f of fs.readdirSync(partialsDir)) {
      if (f.endsWith(".hbs")) hb.registerPartial(f.replace(/\.hbs$/, ""), fs.readFileSync(path.join(partialsDir, f), "utf8"));
    }
  }
  hb.registerHelper("eq", (a: unknown, b: unknown) => a === b);
  hb.registerHelper("sub", (a: unknown, b: unknown) => Math.round((Number(a) - Number(b)) * 10) / 10);
  hb.registerHelper("json", (v: unknown) => new Handlebars.SafeString(JSON.stringify(v).replace(/</g, "\\u003c")));
  return (file, options, callback) => {
    try {
      const body = load(file)(options);
      // A fragment (a page's regions, fetched by its script to refresh them) is the view without the layout.
      if ((options as { layout?: unknown }).layout === false) return callback(null, body);
      const html = load(path.join(viewsDir, "layout.hbs"))({ ...options, body: new Handlebars.SafeString(body) });
      callback(null, html);
    } catch (err) {
      callback(err);
    }
  };
}
