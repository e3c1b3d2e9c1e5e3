import { useEffect, useState } from "react";
import { api } from "../api.js";

// What each role saw: the context packs the context service built for this story.
export default function ContextView({ id, events }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [open, setOpen] = useState(null);
  const n = events.length;
  useEffect(() => {
    api(`/stories/${encodeURIComponent(id)}/context`)
      .then(setData)
      .catch((e) => setError(e.message));
  }, [id, n]);
  if (error) return <p className="text-sm text-rose-600">{error}</p>;
  if (!data) return <p className="text-sm text-slate-500">loading…</p>;
  return (
    <section className="card space-y-3" data-testid="context">
      <h2 className="h2">Context: what each role saw</h2>
      <p className="text-xs text-slate-500">{data.note}</p>
      {data.packs.length === 0 && (
        <p className="text-sm text-slate-600" data-testid="no-context">
          No context pack is recorded for this story.
        </p>
      )}
      {data.packs.map(({ key, pack }) => (
        <article key={key} className="rounded border border-slate-200 p-3" data-testid="pack">
          <header className="flex flex-wrap items-center gap-2 text-sm">
            <b>{pack.role}</b>
            <span className="badge bg-slate-100">{pack.phase}</span>
            {pack.task_id && <span className="font-mono text-xs">{pack.task_id}</span>}
            <span className="ml-auto tabular-nums text-xs text-slate-600">
              {pack.token_count} / {pack.budget} tokens
            </span>
          </header>
          <div className="mt-2 flex flex-wrap gap-2 text-xs">
            {pack.dropped?.length > 0 && <span className="badge bg-rose-100 text-rose-800">dropped: {pack.dropped.join(", ")}</span>}
            {pack.compressed?.length > 0 && <span className="badge bg-amber-100 text-amber-800">compressed: {pack.compressed.join(", ")}</span>}
            <span className="badge bg-slate-100">{pack.redacted || 0} secret(s) redacted</span>
          </div>
          <ul className="mt-2 space-y-1 text-sm">
            {(pack.sections || []).map((s) => {
              const k = `${key}/${s.name}`;
              return (
                <li key={k}>
                  <button className="text-left text-indigo-700 underline" onClick={() => setOpen(open === k ? null : k)}>
                    {s.name}
                  </button>{" "}
                  <span className="text-xs text-slate-500">{s.tokens} tokens</span>
                  {open === k && <pre className="mt-1 max-h-80 overflow-auto whitespace-pre-wrap rounded bg-slate-50 p-2 text-xs">{s.content}</pre>}
                </li>
              );
            })}
          </ul>
        </article>
      ))}
    </section>
  );
}
