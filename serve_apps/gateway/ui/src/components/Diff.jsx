// A unified diff, coloured per line. Plain text only: the diff is model output (hostile input),
// so it is rendered as text nodes, never as HTML.
export default function Diff({ diff, testid = "diff" }) {
  if (!diff) return null;
  const lines = diff.replace(/\n$/, "").split("\n");
  return (
    <pre className="max-h-[32rem] overflow-auto rounded border border-slate-200 bg-slate-950 p-2 text-xs leading-5 text-slate-100" data-testid={testid}>
      {lines.map((l, i) => {
        let cls = "";
        if (l.startsWith("diff --git") || l.startsWith("+++") || l.startsWith("---") || l.startsWith("index ")) cls = "font-bold text-sky-300";
        else if (l.startsWith("@@")) cls = "text-violet-300";
        else if (l.startsWith("+")) cls = "bg-emerald-900/60 text-emerald-200";
        else if (l.startsWith("-")) cls = "bg-rose-900/60 text-rose-200";
        return (
          <div key={i} className={cls}>
            {l || " "}
          </div>
        );
      })}
    </pre>
  );
}
