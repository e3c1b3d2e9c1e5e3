import { useEffect, useState } from "react";
import { api } from "../api.js";

const STATES = ["BACKLOG", "DRAFT", "DESIGN", "BUILD", "TEST", "DOCS", "DONE"];
const PO_GATES = ["scope", "design", "acceptance"];

export function usePoll(fn, ms, deps = []) {
  const [state, setState] = useState({ data: null, error: null });
  useEffect(() => {
    let alive = true;
    let timer;
    const tick = async () => {
      try {
        const data = await fn();
        if (alive) setState({ data, error: null });
      } catch (e) {
        if (alive) setState((s) => ({ ...s, error: e.message }));
      }
      if (alive) timer = setTimeout(tick, ms);
    };
    tick();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return state;
}

function StoryCard({ s }) {
  const waiting = s.parked && PO_GATES.includes(s.parked.gate);
  return (
    <a
      href={`#/story/${encodeURIComponent(s.id)}`}
      className={`block rounded-md border bg-white p-2 text-sm shadow-sm hover:shadow ${
        s.parked ? "border-amber-400 ring-2 ring-amber-300" : "border-slate-200"
      }`}
      data-testid="story-card"
      data-story={s.id}
    >
      <div className="font-medium text-slate-800">{s.title}</div>
      <div className="mt-1 flex flex-wrap items-center gap-1 text-xs text-slate-500">
        <span className="font-mono">{s.id}</span>
        <span className="badge bg-slate-100">{s.rigor}</span>
        {s.score && (
          <span className={`badge ${s.score.ready ? "bg-emerald-100 text-emerald-800" : "bg-rose-100 text-rose-800"}`}>
            DoR {s.score.dor}
          </span>
        )}
        {s.outcome && <span className="badge bg-indigo-100 text-indigo-800">{s.outcome}</span>}
      </div>
      {s.parked && (
        <div className="mt-1 text-xs font-semibold text-amber-700" data-testid="parked">
          {waiting ? "waiting for you" : "parked"}: {s.parked.gate}
        </div>
      )}
    </a>
  );
}

export default function Board() {
  const { data, error } = usePoll(() => api("/stories?limit=1000"), 3000);
  const stories = data?.stories || [];
  const waiting = stories.filter((s) => s.parked);
  return (
    <div className="space-y-6">
      <div className="flex items-center">
        <h1 className="text-xl font-semibold">Board</h1>
        <a href="#/new" className="btn-primary ml-auto">+ New story</a>
      </div>
      {error && <p className="text-sm text-rose-600" role="alert">{error}</p>}
      <section className="card border-amber-300 bg-amber-50" data-testid="needs-you">
        <h2 className="h2">What needs you now ({waiting.length})</h2>
        {waiting.length === 0 ? (
          <p className="text-sm text-slate-600">No story waits at a gate.</p>
        ) : (
          <ul className="space-y-1 text-sm">
            {waiting.map((s) => (
              <li key={s.id}>
                <a className="font-medium text-amber-800 underline" href={`#/story/${encodeURIComponent(s.id)}`}>
                  {s.title}
                </a>{" "}
                — gate <b>{s.parked.gate}</b>: {s.parked.reason}
              </li>
            ))}
          </ul>
        )}
      </section>
      <div className="grid grid-cols-7 gap-3">
        {STATES.map((st) => {
          const col = stories.filter((s) => s.state === st);
          return (
            <section key={st} className="min-h-40 rounded-lg bg-slate-100 p-2" data-testid={`column-${st}`}>
              <h3 className="mb-2 flex items-center text-xs font-bold tracking-wide text-slate-600">
                {st}
                <span className="ml-auto rounded bg-white px-1.5">{col.length}</span>
              </h3>
              <div className="space-y-2">
                {col.map((s) => (
                  <StoryCard key={s.id} s={s} />
                ))}
              </div>
            </section>
          );
        })}
      </div>
    </div>
  );
}
