import { evidenceOf } from "../derive.js";
import Diff from "./Diff.jsx";
import Markdown, { RichText } from "./Markdown.jsx";

function Evidence({ ev }) {
  if (!ev) return <p className="text-xs text-slate-500">No evidence recorded for this proposal.</p>;
  return (
    <div className="text-xs" data-testid="evidence">
      <div className="mb-1 flex items-center gap-2">
        <span className={`badge ${ev.passed ? "bg-emerald-100 text-emerald-800" : "bg-rose-100 text-rose-800"}`}>
          tests {ev.passed ? "passed" : "failed"}
        </span>
        <span className="tabular-nums">
          {ev.tests_passed ?? 0} passed · {ev.tests_failed ?? 0} failed
        </span>
      </div>
      {(ev.tests || []).length > 0 && (
        <ul className="space-y-0.5 font-mono">
          {ev.tests.map((t) => (
            <li key={t.test_id} data-testid="test-outcome">
              <span className={t.passed ? "text-emerald-700" : "text-rose-700"}>{t.passed ? "✓" : "✗"}</span> {t.test_id}
              {t.excerpt && <pre className="ml-4 whitespace-pre-wrap text-rose-700">{t.excerpt}</pre>}
            </li>
          ))}
        </ul>
      )}
      {ev.detail && <pre className="mt-1 max-h-32 overflow-auto whitespace-pre-wrap rounded bg-slate-50 p-1 text-slate-600">{ev.detail}</pre>}
    </div>
  );
}

function ProposalCard({ p, council }) {
  const winner = council.winner === p.id;
  const critiques = council.critiques.filter((c) => c.target === p.id);
  return (
    <article
      className={`rounded-lg border p-3 ${winner ? "border-emerald-500 bg-emerald-50/40 ring-1 ring-emerald-400" : "border-slate-200 bg-white"}`}
      data-testid="proposal"
      data-proposal={p.id}
    >
      <header className="mb-2 flex flex-wrap items-center gap-2 text-sm">
        <span className="font-semibold">{p.author}</span>
        <span className="badge bg-slate-100">{p.role}</span>
        <span className="badge bg-slate-100">round {p.round ?? 0}</span>
        <span className="font-mono text-xs text-slate-400">{p.id}</span>
        {winner && <span className="badge ml-auto bg-emerald-600 text-white" data-testid="winner">winner</span>}
      </header>
      {(p.rationale || p.patch?.rationale) && <Markdown text={p.rationale || p.patch.rationale} testid="rationale" className="mb-2" />}
      {p.patch?.diff ? (
        <>
          <div className="mb-1 text-xs text-slate-500">
            patch on <span className="font-mono">{(p.patch.base_commit || "").slice(0, 10)}</span>
            {p.patch.files?.length ? ` · ${p.patch.files.join(", ")}` : ""}
          </div>
          <Diff diff={p.patch.diff} />
        </>
      ) : (
        <pre className="max-h-72 overflow-auto whitespace-pre-wrap rounded border border-slate-200 bg-slate-50 p-2 text-xs" data-testid="proposal-content">
          {p.content}
        </pre>
      )}
      <div className="mt-2">
        <Evidence ev={evidenceOf(council, p.id)} />
      </div>
      {critiques.length > 0 && (
        <div className="mt-2 space-y-1">
          <div className="label">Critiques</div>
          {critiques.map((c) => (
            <div key={c.id} className="rounded bg-slate-50 px-2 py-1 text-xs" data-testid="critique">
              <b>{c.author}</b> <span className="badge bg-amber-100 text-amber-800">{c.severity}</span> (round {c.round}): {c.content}
            </div>
          ))}
        </div>
      )}
    </article>
  );
}

export default function Council({ council, task }) {
  const lastRound = Math.max(0, ...council.ballots.map((b) => b.round ?? 0));
  const names = new Map(council.proposals.map((p) => [p.id, `${p.author} r${p.round ?? 0}`]));
  const name = (id) => names.get(id) || id;
  return (
    <section className="card space-y-3" data-testid="council" data-council={council.id}>
      <header className="flex flex-wrap items-baseline gap-2">
        <h3 className="text-base font-semibold">
          Task {council.task_id || "?"}
          {task ? `: ${task.description}` : ""}
        </h3>
        <span className="text-xs text-slate-500">
          {council.members.length} members · {council.done ? `${council.rounds} revision round${council.rounds === 1 ? "" : "s"}` : `up to ${council.rounds} revision round${council.rounds === 1 ? "" : "s"}`}
          {council.rule ? ` · rule ${council.rule}` : ""}
        </span>
        <span className={`badge ml-auto ${council.done ? "bg-emerald-100 text-emerald-800" : "bg-sky-100 text-sky-800"}`}>
          {council.done ? "decided" : "deliberating…"}
        </span>
      </header>
      <div className="grid gap-3 xl:grid-cols-2">
        {council.proposals.map((p) => (
          <ProposalCard key={p.id} p={p} council={council} />
        ))}
      </div>
      {council.ballots.length > 0 && (
        <div>
          <div className="label">Ballots</div>
          <table className="w-full text-left text-xs" data-testid="ballots">
            <thead className="text-slate-500">
              <tr>
                <th className="py-1">voter</th>
                <th>round</th>
                <th>ranking (best first)</th>
                <th>rationale</th>
              </tr>
            </thead>
            <tbody>
              {council.ballots.map((b) => (
                <tr key={b.id} className={`border-t border-slate-100 ${(b.round ?? 0) === lastRound ? "" : "text-slate-400"}`}>
                  <td className="py-1 font-medium">{b.voter}</td>
                  <td>{b.round ?? 0}</td>
                  <td className="font-mono" title={(b.ranking || []).join(" > ")}>
                    {(b.ranking || []).map(name).join(" > ")}
                  </td>
                  <td>{b.rationale}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {council.skipped.length > 0 && (
        <div data-testid="skipped-votes">
          <div className="label">Ballots not asked for</div>
          <ul className="list-disc pl-5 text-xs text-slate-600">
            {council.skipped.map((s, i) => (
              <li key={i}>
                round {s.round}: {s.why}
              </li>
            ))}
          </ul>
        </div>
      )}
      {council.tally && (
        <p className="text-xs text-slate-600" data-testid="tally">
          tally ({council.tally.rule}):{" "}
          {Object.entries(council.tally.scores || {})
            .map(([k, v]) => `${name(k)} ${Number(v).toFixed(2)}`)
            .join(" · ")}
          {council.tally.tie_break ? ` · tie-break ${council.tally.tie_break}` : ""}
          {council.tally.early_stop ? " · early stop" : ""}
        </p>
      )}
      {council.decision && (
        <div className="rounded border border-slate-200 p-2" data-testid="decision">
          <div className="label">Decision</div>
          <Markdown text={council.decision.why} testid="decision-why" className="text-xs" />
          <RichText text={council.decision.what} testid="decision-what" />
        </div>
      )}
    </section>
  );
}
