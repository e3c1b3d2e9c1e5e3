import { useEffect, useState } from "react";
import { api } from "../api.js";

// The story's progress (GET /stories/{id}/progress, folded by fleet.progress): what is happening
// now, the time per step (waits for the PO left out), the token budget spent and left, and the
// time left estimated from earlier stories. Re-read on every new event; the clock of the step
// under way ticks in between.

export function duration(seconds) {
  if (seconds == null) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

function useTick(active) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return undefined;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

export default function Progress({ id, n, parked }) {
  const [p, setP] = useState(null);
  const [read, setRead] = useState(0);
  useEffect(() => {
    api(`/stories/${encodeURIComponent(id)}/progress`)
      .then((x) => {
        setP(x);
        setRead(Date.now());
      })
      .catch(() => {}); // an older gateway: the timeline still tells
  }, [id, n]);
  const running = !!p && !p.outcome && !parked;
  const now = useTick(running);
  if (!p) return null;
  const since = running ? Math.max(0, (now - read) / 1000) : 0;
  const current = p.steps.length && p.steps[p.steps.length - 1].ended_ms == null ? p.steps.length - 1 : -1;
  const tokens =
    p.tokens_limit != null
      ? `${p.tokens_spent.toLocaleString()} of ${p.tokens_limit.toLocaleString()} (${p.tokens_left.toLocaleString()} left)`
      : `${p.tokens_spent.toLocaleString()} (no limit)`;
  const estimate = p.outcome
    ? `nothing left: the story ended (${p.outcome})`
    : p.estimate_s == null
      ? p.estimate_note
      : `about ${duration(Math.max(0, p.estimate_s - since))} left (${p.estimate_note})`;
  return (
    <section className="card space-y-2" data-testid="progress">
      <p className="text-sm" data-testid="progress-now">
        <span className="label mr-2">{p.outcome ? "last" : "now"}</span>
        {p.now}
      </p>
      <ol className="flex flex-wrap gap-2 text-xs" data-testid="progress-steps">
        {p.steps.map((s, i) => (
          <li
            key={`${s.state}-${s.started_ms}`}
            className={`rounded border px-2 py-0.5 tabular-nums ${i === current ? "border-sky-400 bg-sky-50 font-semibold" : "border-slate-200"}`}
            data-testid="progress-step"
            data-state={s.state}
            title={s.waited_s ? `waited ${duration(s.waited_s)} for the PO` : undefined}
          >
            {s.state} {duration(s.work_s + (i === current ? since : 0))}
          </li>
        ))}
      </ol>
      <p className="text-xs text-slate-600">
        <span data-testid="progress-elapsed">story {duration(p.elapsed_s + since)}</span> ·{" "}
        <span data-testid="progress-tokens">tokens {tokens}</span>
        {p.cost_limit != null && ` · cost ${p.cost_spent.toFixed(4)} of ${p.cost_limit}`} · time budget: none (the fleet sets no time limit) ·{" "}
        <span data-testid="progress-estimate">{estimate}</span>
      </p>
    </section>
  );
}
