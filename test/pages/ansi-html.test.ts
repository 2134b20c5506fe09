import assert from "node:assert/strict";
import { AnsiRenderer, escapeHtml } from "../../src/web/pages/ansi-html";
import { formatDuration } from "../../src/web/pages/build-view";
import { badgeStatus, badgeSvg } from "../../src/web/badge/badge-svg";

describe("ANSI colours → HTML", () => {
  const render = (...lines: string[]) => {
    const r = new AnsiRenderer();
    return lines.map((l) => r.line(l));
  };

  it("SGR codes become spans with classes; the state carries over to the next line until reset", () => {
    assert.deepEqual(render("\x1b[1;32mok\x1b[0m done", "\x1b[31mred", "still red\x1b[39m plain"), [
      '<span class="ansi-fg-2 ansi-bold">ok</span> done',
      '<span class="ansi-fg-1">red</span>',
      '<span class="ansi-fg-1">still red</span> plain',
    ]);
  });

  it("bright, background, 256-colour and true-colour codes map to the 16 classes (no inline style)", () => {
    assert.deepEqual(render("\x1b[93;44mx\x1b[m", "\x1b[38;5;196my\x1b[0m", "\x1b[38;2;0;205;0mz\x1b[0m", "\x1b[7mi\x1b[27m"), [
      '<span class="ansi-fg-11 ansi-bg-4">x</span>',
      '<span class="ansi-fg-9">y</span>',
      '<span class="ansi-fg-2">z</span>',
      '<span class="ansi-fg-15 ansi-bg-0">i</span>',
    ]);
  });

  it("escapes everything a log holds: markup from a log is text", () => {
    const [html] = render('\x1b[31m<script>alert("x")</script>\x1b[0m <a href=\'javascript:1\'>&amp;</a>');
    assert.equal(html, '<span class="ansi-fg-1">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</span> &lt;a href=&#39;javascript:1&#39;&gt;&amp;amp;&lt;/a&gt;');
    assert.equal(escapeHtml(`<>&"'`), "&lt;&gt;&amp;&quot;&#39;");
  });

  it("drops other escape sequences and control characters; a carriage return overwrites the line", () => {
    assert.deepEqual(render("a\x1b[2Kb\x1b]0;window title\x07c\x1b(Bd\x07\x1b", "10%\r50%\r100%", "crlf\r", "tab\tkept"), ["abcd", "100%", "crlf", "tab\tkept"]);
    // Colours set before the carriage return still count.
    assert.deepEqual(render("\x1b[32mold\rnew"), ['<span class="ansi-fg-2">new</span>']);
  });
});

describe("page formatting", () => {
  it("durations read the way people say them", () => {
    assert.deepEqual([null, 850, 42_000, 185_000, 3_725_000].map(formatDuration), ["", "850 ms", "42 s", "3 min 05 s", "1 h 02 min"]);
  });

  it("badges escape their text and use the state's colour", () => {
    const svg = badgeSvg("<x>", badgeStatus("FAILED"));
    assert.match(svg, /&lt;x&gt;: failing/);
    assert.match(svg, /fill="#c9372c"/);
    assert.equal(badgeStatus(null).message, "no builds");
  });
});
