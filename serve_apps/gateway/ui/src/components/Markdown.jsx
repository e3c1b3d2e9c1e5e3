// Markdown rendered as React elements from marked's tokens, never as HTML: the text is model
// output and story fields (hostile input), so raw HTML in it is shown as text, links go only to
// http(s) or in-page anchors, and ```diff blocks (or a bare unified diff) get the Diff view.
import { marked } from "marked";
import Diff from "./Diff.jsx";

const SAFE_HREF = /^(https?:\/\/|#)/i;

function inline(tokens = [], key = "i") {
  return tokens.map((t, i) => {
    const k = `${key}.${i}`;
    switch (t.type) {
      case "strong":
        return <strong key={k}>{inline(t.tokens, k)}</strong>;
      case "em":
        return <em key={k}>{inline(t.tokens, k)}</em>;
      case "del":
        return <del key={k}>{inline(t.tokens, k)}</del>;
      case "codespan":
        return (
          <code key={k} className="rounded bg-slate-100 px-1 font-mono text-[0.85em]">
            {t.text}
          </code>
        );
      case "br":
        return <br key={k} />;
      case "link":
        return SAFE_HREF.test(t.href || "") ? (
          <a key={k} href={t.href} rel="noreferrer noopener" className="text-indigo-700 underline">
            {inline(t.tokens, k)}
          </a>
        ) : (
          <span key={k}>{t.raw}</span>
        );
      case "image": // no images from model output: the page would fetch them
        return <span key={k}>{t.raw}</span>;
      case "html": // shown as the text it is
        return <span key={k}>{t.raw}</span>;
      case "escape":
        return <span key={k}>{t.text}</span>;
      default:
        return t.tokens ? <span key={k}>{inline(t.tokens, k)}</span> : <span key={k}>{t.raw ?? t.text ?? ""}</span>;
    }
  });
}

const isDiff = (lang, text) =>
  lang === "diff" || lang === "patch" || (/^(diff --git |--- \S)/m.test(text) && /^\+\+\+ /m.test(text) && /^@@ /m.test(text));

function block(t, k) {
  switch (t.type) {
    case "heading": {
      const H = `h${Math.min(6, Math.max(2, t.depth + 1))}`; // the page has its own h1
      const size = ["", "", "text-lg", "text-base", "text-sm", "text-sm", "text-sm"][Math.min(6, t.depth + 1)];
      return (
        <H key={k} className={`mt-3 mb-1 font-semibold ${size}`}>
          {inline(t.tokens, k)}
        </H>
      );
    }
    case "paragraph":
      return (
        <p key={k} className="my-1.5">
          {inline(t.tokens, k)}
        </p>
      );
    case "text":
      return <span key={k}>{t.tokens ? inline(t.tokens, k) : t.text}</span>;
    case "code":
      return isDiff(t.lang, t.text) ? (
        <Diff key={k} diff={t.text} testid="md-diff" />
      ) : (
        <pre key={k} className="my-2 overflow-auto rounded bg-slate-50 p-2 font-mono text-xs">
          {t.text}
        </pre>
      );
    case "blockquote":
      return (
        <blockquote key={k} className="my-2 border-l-4 border-slate-300 pl-3 text-slate-600">
          {t.tokens.map((x, i) => block(x, `${k}.${i}`))}
        </blockquote>
      );
    case "list": {
      const L = t.ordered ? "ol" : "ul";
      return (
        <L key={k} className={`my-1.5 ml-5 ${t.ordered ? "list-decimal" : "list-disc"}`} start={t.ordered && t.start !== "" ? t.start : undefined}>
          {t.items.map((item, i) => (
            <li key={`${k}.${i}`}>{item.tokens.map((x, j) => block(x, `${k}.${i}.${j}`))}</li>
          ))}
        </L>
      );
    }
    case "table":
      return (
        <div key={k} className="my-2 overflow-auto">
          <table className="text-left text-xs" data-testid="md-table">
            <thead>
              <tr>
                {t.header.map((c, i) => (
                  <th key={i} className="border-b border-slate-300 px-2 py-1">
                    {inline(c.tokens, `${k}.h${i}`)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {t.rows.map((row, r) => (
                <tr key={r} className="border-t border-slate-100">
                  {row.map((c, i) => (
                    <td key={i} className="px-2 py-1 align-top">
                      {inline(c.tokens, `${k}.${r}.${i}`)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    case "hr":
      return <hr key={k} className="my-3" />;
    case "space":
      return null;
    default: // html blocks and anything new: the source, as text
      return (
        <p key={k} className="my-1.5 whitespace-pre-wrap">
          {t.raw}
        </p>
      );
  }
}

// Prose then a unified diff (a decision's "what" is the winner's text, a blank line, its diff):
// split where the diff starts so each part gets its own view.
export function splitDiff(text) {
  const s = String(text ?? "");
  const m = /^(diff --git |--- (a\/|\/dev\/null)\S*)/m.exec(s);
  if (!m || !/^@@ /m.test(s.slice(m.index))) return [s, ""];
  return [s.slice(0, m.index).trimEnd(), s.slice(m.index)];
}

export default function Markdown({ text, testid = "markdown", className = "" }) {
  const tokens = marked.lexer(String(text ?? ""), { gfm: true });
  return (
    <div className={`text-sm leading-6 text-slate-800 ${className}`} data-testid={testid}>
      {tokens.map((t, i) => block(t, `b${i}`))}
    </div>
  );
}

// Text that may end in a diff: Markdown for the prose, the Diff view for the diff.
export function RichText({ text, testid = "rich" }) {
  const [prose, diff] = splitDiff(text);
  return (
    <div data-testid={testid}>
      {prose && <Markdown text={prose} testid={`${testid}-md`} />}
      {diff && <Diff diff={diff} testid={`${testid}-diff`} />}
    </div>
  );
}
