import { useEffect, useState } from "react";
import { api } from "../api.js";
import { useMe } from "../me.js";

const EMPTY = { title: "", description: "", criteria: "", repo: "", branch: "", rigor: "L1", kind: "" };
const KINDS = { feature: "a feature", bug: "a bug report", change: "a change" };

function body(f) {
  const out = {
    title: f.title.trim(),
    description: f.description,
    acceptance_criteria: f.criteria.split("\n").map((c) => c.trim()).filter(Boolean),
    rigor: f.rigor,
  };
  // omitted: the repository's default branch / the kind the coach infers from the text
  if (f.branch.trim()) out.branch = f.branch.trim();
  if (f.repo.trim()) out.repo = f.repo.trim();
  if (f.kind) out.work_kind = f.kind;
  return out;
}

// The repository as the gateway sees it (its branches, its default branch), checked as the PO
// types; the base-branch field follows the default branch until the PO edits it.
function useRepo(repo, onDefault) {
  const [info, setInfo] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setInfo(null);
    setError(null);
    if (!repo.trim()) return;
    let live = true;
    const t = setTimeout(() => {
      api(`/repos/branches?repo=${encodeURIComponent(repo.trim())}`)
        .then((r) => {
          if (!live) return;
          setInfo(r);
          if (r.default_branch) onDefault(r.default_branch);
        })
        .catch((e) => live && setError(e.message));
    }, 400);
    return () => {
      live = false;
      clearTimeout(t);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [repo]);
  return { info, error };
}

function Bar({ label, value }) {
  const color = value >= 70 ? "bg-emerald-500" : value >= 40 ? "bg-amber-500" : "bg-rose-500";
  return (
    <div className="flex items-center gap-2 text-xs">
      <span className="w-24 capitalize text-slate-600">{label}</span>
      <div className="h-2 flex-1 rounded bg-slate-200">
        <div className={`h-2 rounded ${color}`} style={{ width: `${value}%` }} />
      </div>
      <span className="w-8 text-right tabular-nums">{value}</span>
    </div>
  );
}

export function ScorePanel({ score, error }) {
  if (error) return <p className="text-sm text-rose-600">{error}</p>;
  if (!score) return <p className="text-sm text-slate-500">Type a title: the coach scores the story as you write.</p>;
  const tips = [...new Map(score.findings.map((f) => [f.suggestion, f])).values()];
  return (
    <div className="space-y-4" data-testid="score">
      {score.work_kind && (
        <p className="text-xs text-slate-500" data-testid="scored-kind" data-kind={score.work_kind}>
          scored as {KINDS[score.work_kind] || score.work_kind}
          {score.work_kind_inferred ? " (read from the text)" : ""}
        </p>
      )}
      <div className="flex items-baseline gap-3">
        <span className="text-4xl font-bold tabular-nums" data-testid="dor-score">{score.dor}</span>
        <span className="text-sm text-slate-500">/ 100 Definition of Ready</span>
        <span
          className={`badge ml-auto ${score.ready ? "bg-emerald-100 text-emerald-800" : "bg-rose-100 text-rose-800"}`}
          data-testid="ready"
        >
          {score.ready ? "ready" : `below ${score.threshold}: not ready`}
        </span>
      </div>
      <div className="space-y-1">
        <div className="label">INVEST</div>
        {Object.entries(score.invest).map(([k, v]) => (
          <Bar key={k} label={k} value={v} />
        ))}
      </div>
      <div>
        <div className="label">Suggestions</div>
        {tips.length === 0 ? (
          <p className="text-sm text-emerald-700">Nothing to improve.</p>
        ) : (
          <ul className="space-y-2 text-sm" data-testid="suggestions">
            {tips.map((f) => (
              <li key={f.suggestion} className="rounded border-l-4 border-amber-400 bg-amber-50 px-2 py-1">
                <div className="text-slate-800">{f.suggestion}</div>
                <div className="text-xs text-slate-500">
                  {f.criterion}: −{f.points_lost} ({f.reason})
                </div>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}

export default function NewStory() {
  const me = useMe();
  const [f, setF] = useState(EMPTY);
  const [score, setScore] = useState(null);
  const [scoreError, setScoreError] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [branchEdited, setBranchEdited] = useState(false);
  const set = (k) => (e) => {
    const value = e.target.value;
    setF((prev) => ({ ...prev, [k]: value }));
  };
  const repo = useRepo(f.repo, (branch) => {
    if (!branchEdited) setF((prev) => ({ ...prev, branch }));
  });

  useEffect(() => {
    if (!f.title.trim()) {
      setScore(null);
      return;
    }
    const t = setTimeout(() => {
      api("/stories/score", { method: "POST", body: body(f) })
        .then((s) => {
          setScore(s);
          setScoreError(null);
        })
        .catch((e) => setScoreError(e.message));
    }, 250);
    return () => clearTimeout(t);
  }, [f]);

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await api("/stories", { method: "POST", body: body(f) });
      window.location.hash = `#/story/${encodeURIComponent(s.id)}`;
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="grid grid-cols-5 gap-6">
      <form onSubmit={submit} className="card col-span-3 space-y-4" data-testid="new-story">
        <h1 className="text-xl font-semibold">New story</h1>
        <div>
          <label className="label" htmlFor="title">Title</label>
          <input id="title" className="input" value={f.title} onChange={set("title")} maxLength={200} data-testid="title" />
        </div>
        <div>
          <label className="label" htmlFor="description">Description</label>
          <textarea
            id="description"
            className="input h-28"
            placeholder={"As a <role> I want <capability> so that <benefit>.\nOr a bug report: what I did, what I expected, what happened, an example."}
            value={f.description}
            onChange={set("description")}
            data-testid="description"
          />
        </div>
        <div>
          <label className="label" htmlFor="criteria">Acceptance criteria (one per line)</label>
          <textarea
            id="criteria"
            className="input h-28 font-mono"
            placeholder="slugify('Hello World') returns 'hello-world'"
            value={f.criteria}
            onChange={set("criteria")}
            data-testid="criteria"
          />
        </div>
        <div className="grid grid-cols-6 gap-3">
          <div className="col-span-3">
            <label className="label" htmlFor="repo">Repository (git URL or local path)</label>
            <input id="repo" className="input font-mono" value={f.repo} onChange={set("repo")} data-testid="repo" />
            {repo.error && <p className="mt-1 text-xs text-rose-600" data-testid="repo-error">{repo.error}</p>}
            {repo.info && (
              <p className="mt-1 text-xs text-slate-500" data-testid="repo-default">
                {repo.info.branches.length} branch{repo.info.branches.length === 1 ? "" : "es"}; default{" "}
                <span className="font-mono">{repo.info.default_branch || "none (detached HEAD)"}</span>
              </p>
            )}
          </div>
          <div className="col-span-2">
            <label className="label" htmlFor="branch">Base branch</label>
            <input
              id="branch"
              className="input font-mono"
              list="branches"
              placeholder="the default branch"
              value={f.branch}
              onChange={(e) => {
                setBranchEdited(true);
                set("branch")(e);
              }}
              data-testid="branch"
            />
            <datalist id="branches">
              {(repo.info?.branches || []).map((b) => (
                <option key={b} value={b} />
              ))}
            </datalist>
          </div>
          <div>
            <label className="label" htmlFor="rigor">Rigor</label>
            <select id="rigor" className="input" value={f.rigor} onChange={set("rigor")} data-testid="rigor">
              <option value="L0">L0 spike</option>
              <option value="L1">L1 standard</option>
              <option value="L2">L2 important</option>
              <option value="L3">L3 critical</option>
            </select>
          </div>
        </div>
        <div>
          <label className="label" htmlFor="kind">Kind</label>
          <select id="kind" className="input w-auto" value={f.kind} onChange={set("kind")} data-testid="work-kind">
            <option value="">read from the text</option>
            <option value="feature">feature</option>
            <option value="bug">bug report</option>
            <option value="change">change</option>
          </select>
        </div>
        {error && (
          <p className="text-sm text-rose-600" role="alert" data-testid="submit-error">
            {error}
          </p>
        )}
        <button
          className="btn-primary"
          disabled={!me.can_act || busy || !f.title.trim()}
          title={me.can_act ? "" : "a viewer token cannot create stories"}
          data-testid="submit"
        >
          Create story
        </button>
      </form>
      <aside className="card col-span-2 self-start">
        <h2 className="h2">Story coach</h2>
        <ScorePanel score={score} error={scoreError} />
      </aside>
    </div>
  );
}
