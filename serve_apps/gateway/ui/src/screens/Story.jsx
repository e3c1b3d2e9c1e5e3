import { useEffect, useMemo, useRef, useState } from "react";
import { api, streamEvents } from "../api.js";
import Council from "../components/Council.jsx";
import Diff from "../components/Diff.jsx";
import Lifecycle from "../components/Lifecycle.jsx";
import Markdown from "../components/Markdown.jsx";
import Progress from "../components/Progress.jsx";
import PlanDag from "../components/PlanDag.jsx";
import { councils, finalChanges, fmtTime, plan, summarize, usage, verification } from "../derive.js";
import { useMe } from "../me.js";
import ContextView from "./Context.jsx";

const TABS = [
  ["overview", "Timeline"],
  ["plan", "Plan"],
  ["council", "Council"],
  ["diff", "Diff"],
  ["report", "Report"],
  ["usage", "Tokens & cost"],
  ["context", "Context"],
];
const PO_GATES = ["scope", "design", "acceptance"];

// The story's events, live: history first, then every new one as it lands (SSE).
function useEvents(id) {
  const [events, setEvents] = useState([]);
  const [error, setError] = useState(null);
  const [live, setLive] = useState(true);
  const pending = useRef([]);
  useEffect(() => {
    const ctl = new AbortController();
    let timer = null;
    const flush = () => {
      timer = null;
      const batch = pending.current;
      pending.current = [];
      setEvents((old) => old.concat(batch));
    };
    streamEvents(
      id,
      (entry, ev) => {
        pending.current.push({ ...ev, entry });
        if (!timer) timer = setTimeout(flush, 80);
      },
      ctl.signal,
      (e) => setError(e.message),
    ).finally(() => {
      if (!ctl.signal.aborted) {
        flush();
        setLive(false);
      }
    });
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, [id]);
  return { events, error, live };
}

function GatePanel({ story, onDone }) {
  const me = useMe();
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const gate = story.parked.gate;
  async function answer(approved) {
    setBusy(true);
    setError(null);
    try {
      await api(`/stories/${encodeURIComponent(story.id)}/approvals`, {
        method: "POST",
        body: { gate, approved, comment },
      });
      setComment("");
      onDone();
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }
  const disabled = !me.can_act || busy;
  const why = me.can_act ? "" : "a viewer token cannot answer gates";
  return (
    <section className="card border-amber-400 bg-amber-50" data-testid="gate" data-gate={gate}>
      <h2 className="h2">
        Waiting at the <span className="font-mono">{gate}</span> gate
      </h2>
      <p className="mb-3 text-sm text-slate-700">{story.parked.reason}</p>
      <textarea
        className="input mb-2 h-16"
        placeholder="comment (optional; a rejection should say why)"
        value={comment}
        onChange={(e) => setComment(e.target.value)}
        disabled={!me.can_act}
        data-testid="gate-comment"
      />
      <div className="flex gap-2">
        <button className="btn-ok" disabled={disabled} title={why} onClick={() => answer(true)} data-testid="approve">
          Approve {gate}
        </button>
        <button className="btn-danger" disabled={disabled} title={why} onClick={() => answer(false)} data-testid="reject">
          Reject
        </button>
        {!PO_GATES.includes(gate) && <span className="text-xs text-slate-500">approving {gate} lets the story try again</span>}
      </div>
      {error && <p className="mt-2 text-sm text-rose-600" role="alert">{error}</p>}
    </section>
  );
}

function Timeline({ events, live }) {
  const end = useRef(null);
  return (
    <section className="card">
      <h2 className="h2">
        Timeline{" "}
        <span className={`badge ${live ? "bg-sky-100 text-sky-800" : "bg-slate-100 text-slate-600"}`} data-testid="live">
          {live ? "● live" : "finished"}
        </span>
      </h2>
      <ol className="max-h-[36rem] space-y-0.5 overflow-auto font-mono text-xs" data-testid="timeline">
        {events.map((ev) => (
          <li key={ev.entry} className="flex gap-2" data-type={ev.type}>
            <span className="w-20 shrink-0 text-slate-400">{fmtTime(ev.at_ms)}</span>
            <span className="w-40 shrink-0 truncate text-indigo-700">{ev.type}</span>
            <span className="w-36 shrink-0 truncate text-slate-500">{ev.actor}</span>
            <span className="text-slate-800">{summarize(ev)}</span>
          </li>
        ))}
        <li ref={end} />
      </ol>
    </section>
  );
}

function Delivered({ id, n }) {
  const [out, setOut] = useState(null);
  const [note, setNote] = useState(null);
  useEffect(() => {
    api(`/stories/${encodeURIComponent(id)}/diff?format=json`, { accept: "application/json" })
      .then((d) => {
        setOut(d);
        setNote(null);
      })
      .catch((e) => setNote(e.status === 404 ? "Nothing committed yet." : e.message));
  }, [id, n]);
  return (
    <section className="card">
      <h2 className="h2">Final diff</h2>
      {note && <p className="text-sm text-slate-500">{note}</p>}
      {out && (
        <>
          <p className="mb-2 text-sm text-slate-600" data-testid="delivered">
            {out.delivered ? "delivered" : "committed (not delivered yet)"}
            {out.branch && <> on branch <span className="font-mono">{out.branch}</span></>}
            {out.commit && <> at <span className="font-mono">{String(out.commit).slice(0, 12)}</span></>}
            {out.truncated ? " · diff truncated" : ""}
          </p>
          <Diff diff={out.diff} testid="delivered-diff" />
        </>
      )}
    </section>
  );
}

function DiffTab({ id, n, changes, checks }) {
  return (
    <div className="space-y-4">
      <Delivered id={id} n={n} />
      <section className="card">
        <h2 className="h2">The councils' winning proposals</h2>
        {changes.length === 0 && <p className="text-sm text-slate-500">No council has decided yet.</p>}
        {changes.map(({ council, proposal }) => (
          <div key={council.id} className="mb-4" data-testid="final-change">
            <div className="mb-1 text-sm">
              task <b>{council.task_id}</b>: {proposal.author}'s proposal <span className="font-mono text-xs">{proposal.id}</span>
            </div>
            {proposal.patch?.diff ? (
              <Diff diff={proposal.patch.diff} testid="final-diff" />
            ) : (
              <pre className="max-h-96 overflow-auto whitespace-pre-wrap rounded border bg-slate-50 p-2 text-xs" data-testid="final-diff">
                {proposal.content}
              </pre>
            )}
          </div>
        ))}
      </section>
      <section className="card">
        <h2 className="h2">Verification</h2>
        {checks.reports.length === 0 && <p className="text-sm text-slate-500">Nothing built yet.</p>}
        <ul className="space-y-1 text-sm" data-testid="verification">
          {checks.reports.map((r) => (
            <li key={`w-${r.task_id}-${r.attempt}`}>
              workspace <b>{r.task_id}</b> (attempt {r.attempt}): build {r.build_ok ? "ok" : "FAILED"}, {r.unit_passed} passed / {r.unit_failed} failed
              {r.coverage != null ? `, coverage ${r.coverage}%` : ""}, lint {r.lint_findings}
              {r.branch && (
                <div className="ml-4 text-xs text-slate-600" data-testid="delivery">
                  {r.status || "delivered"} on branch <span className="font-mono">{r.branch}</span>
                  {r.commit ? <> at <span className="font-mono">{String(r.commit).slice(0, 12)}</span></> : null}
                  {Array.isArray(r.files) && r.files.length ? ` · files: ${r.files.join(", ")}` : ""}
                </div>
              )}
            </li>
          ))}
          {checks.gates.map((g) => (
            <li key={`g-${g.task_id}-${g.attempt}`}>
              rigor gate <b>{g.profile}</b> on {g.task_id}:{" "}
              <span className={g.verdict === "block" ? "text-rose-700" : "text-emerald-700"}>{g.verdict}</span> ({Math.round(g.score)}/100)
              {g.failures?.length ? ` — ${g.failures.join("; ")}` : ""}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

function Report({ id, events }) {
  const [text, setText] = useState(null);
  const [error, setError] = useState(null);
  const n = events.length;
  useEffect(() => {
    api(`/stories/${encodeURIComponent(id)}/report`, { accept: "text/markdown" })
      .then(setText)
      .catch((e) => setError(e.message));
  }, [id, n]);
  return (
    <section className="card">
      <h2 className="h2">Technical report</h2>
      {error && <p className="text-sm text-rose-600">{error}</p>}
      {text == null ? <p className="text-sm text-slate-500">loading…</p> : <Markdown text={text} testid="report" />}
    </section>
  );
}

function Usage({ events }) {
  const { rows, total } = usage(events);
  const fmt = (n) => n.toLocaleString();
  return (
    <section className="card">
      <h2 className="h2">Tokens and cost</h2>
      <table className="w-full text-left text-sm" data-testid="usage">
        <thead className="text-xs text-slate-500">
          <tr>
            <th>role</th>
            <th>model</th>
            <th className="text-right">calls</th>
            <th className="text-right">prompt</th>
            <th className="text-right">completion</th>
            <th className="text-right">cost</th>
            <th className="text-right">avg latency</th>
          </tr>
        </thead>
        <tbody className="tabular-nums">
          {rows.map((r) => (
            <tr key={r.role + r.model} className="border-t border-slate-100">
              <td>{r.role}</td>
              <td className="font-mono text-xs">{r.model}</td>
              <td className="text-right">{r.calls}</td>
              <td className="text-right">{fmt(r.prompt)}</td>
              <td className="text-right">{fmt(r.completion)}</td>
              <td className="text-right">${r.cost.toFixed(4)}</td>
              <td className="text-right">{Math.round(r.latency / r.calls)} ms</td>
            </tr>
          ))}
          <tr className="border-t-2 border-slate-300 font-semibold" data-testid="usage-total">
            <td colSpan={2}>total</td>
            <td className="text-right">{total.calls}</td>
            <td className="text-right">{fmt(total.prompt)}</td>
            <td className="text-right">{fmt(total.completion)}</td>
            <td className="text-right">${total.cost.toFixed(4)}</td>
            <td />
          </tr>
        </tbody>
      </table>
    </section>
  );
}

export default function StoryScreen({ id, tab }) {
  const { events, error, live } = useEvents(id);
  const [story, setStory] = useState(null);
  const [lifecycle, setLifecycle] = useState(null);
  const [refresh, setRefresh] = useState(0);
  useEffect(() => {
    api("/lifecycle").then(setLifecycle).catch(() => {});
  }, []);
  const n = events.length;
  useEffect(() => {
    api(`/stories/${encodeURIComponent(id)}`).then(setStory).catch(() => {});
  }, [id, n, refresh]);
  const tasks = useMemo(() => plan(events), [events]);
  const cs = useMemo(() => councils(events), [events]);
  const visited = useMemo(() => new Set([story?.state, ...(story?.transitions || []).flatMap((t) => [t.from, t.to])]), [story]);
  if (error) return <p className="text-rose-600" role="alert">{error}</p>;
  if (!story) return <p className="text-slate-500">loading…</p>;
  const base = `#/story/${encodeURIComponent(id)}`;
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-baseline gap-3">
        <h1 className="text-xl font-semibold" data-testid="story-title">{story.title}</h1>
        <span className="font-mono text-xs text-slate-500">{story.id}</span>
        <span className="badge bg-slate-100">{story.rigor}</span>
        {story.work_kind && (
          <span className="badge bg-slate-100" data-testid="work-kind" title={story.work_kind_inferred ? "read from the text" : "set by the PO"}>
            {story.work_kind}
          </span>
        )}
        <span className="badge bg-indigo-600 text-white" data-testid="state">{story.state}</span>
        {story.outcome && <span className="badge bg-emerald-100 text-emerald-800" data-testid="outcome">{story.outcome}</span>}
        {story.score && <span className="text-xs text-slate-500">DoR {story.score.dor}/100</span>}
        {story.repo && <span className="font-mono text-xs text-slate-500">{story.repo} @ {story.branch || "default branch"}</span>}
      </div>
      <section className="card">
        <Lifecycle lifecycle={lifecycle} state={story.state} visited={visited} parkedGate={story.parked?.gate} />
      </section>
      <Progress id={id} n={n} parked={!!story.parked} />
      {story.parked && <GatePanel story={story} onDone={() => setRefresh((x) => x + 1)} />}
      <nav className="flex gap-1 border-b border-slate-200">
        {TABS.map(([key, label]) => (
          <a
            key={key}
            href={`${base}/${key}`}
            className={`-mb-px rounded-t border px-3 py-1.5 text-sm ${tab === key ? "border-slate-200 border-b-white bg-white font-semibold" : "border-transparent text-slate-600"}`}
            data-testid={`tab-${key}`}
          >
            {label}
            {key === "council" && cs.length ? ` (${cs.length})` : ""}
          </a>
        ))}
      </nav>
      {tab === "overview" && <Timeline events={events} live={live} />}
      {tab === "plan" && (
        <section className="card">
          <h2 className="h2">Plan (task DAG)</h2>
          <PlanDag tasks={tasks} />
        </section>
      )}
      {tab === "council" &&
        (cs.length ? (
          cs.map((c) => <Council key={c.id} council={c} task={tasks.find((t) => t.id === c.task_id)} />)
        ) : (
          <p className="text-sm text-slate-500">No council has met yet.</p>
        ))}
      {tab === "diff" && <DiffTab id={id} n={n} changes={finalChanges(cs)} checks={verification(events)} />}
      {tab === "report" && <Report id={id} events={events} />}
      {tab === "usage" && <Usage events={events} />}
      {tab === "context" && <ContextView id={id} events={events} />}
    </div>
  );
}
