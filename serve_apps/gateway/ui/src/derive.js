// Folds of a story's events (the timeline is the truth) into what the screens show. Every field
// is optional: producers add fields over time, so render what is there and skip what is not.

const short = (s, n = 140) => {
  const t = String(s ?? "").replace(/\s+/g, " ").trim();
  // a cut line ends at a word (the whole text is in the gate panel, the report and the tabs)
  return t.length <= n ? t : t.slice(0, n - 1).replace(/\s+\S*$/, "") + "…";
};

// Rounds counted one way everywhere (as fleet run does): revision rounds after the first proposals.
const revisions = (n) => `${n ?? 0} revision round${n === 1 ? "" : "s"}`;

// QA's suite on the base commit must fail (the red step of test-first): say so, not "failed".
function redStep(p) {
  if (!String(p.spec_id || "").startsWith("baseline:")) return null;
  if (p.status === "failed") return "QA's tests fail on the base commit, as they must";
  if (p.status === "passed") return "QA's tests pass on the base commit already (they cannot show the change)";
  return `QA's tests on the base commit: ${p.status}`;
}

export function summarize(ev) {
  const p = ev.payload || {};
  const d = ev.data || {};
  switch (ev.type) {
    case "story.created":
      return `story created: ${short(p.title)}`;
    case "story.scored":
      return `coach: DoR ${p.dor}/100, ${p.ready ? "ready" : "not ready"}`;
    case "story.transition":
      return `${d.from} → ${d.to} (${d.name})${d.by ? ` by ${d.by}` : ""}`;
    case "story.parked":
      return `waiting at ${d.gate}: ${short(d.reason)}`;
    case "story.rejected":
      return `rejected ${d.gate} by ${d.by || ev.actor}${d.comment ? `: “${short(d.comment, 80)}”` : ""}`;
    case "story.approved":
      return `${d.approved === false ? "rejected" : "approved"} ${d.gate} by ${d.by || ev.actor}${d.comment ? `: “${short(d.comment, 80)}”` : ""}`;
    case "task.planned":
      return `task ${p.id} (${p.role}): ${short(p.description)}`;
    case "deliberation.started":
      return `council for ${d.task_id}: ${(d.members || []).length} members, up to ${revisions(d.rounds)} after the first proposals`;
    case "council.proposal":
      return `${p.author} proposes (round ${p.round ?? 0})`;
    case "council.critique":
      return `${p.author} critiques ${p.target} (${p.severity})`;
    case "council.ballot":
      return `${p.voter} votes ${(p.ranking || []).join(" > ")}`;
    case "council.evidence":
      return `evidence for ${p.proposal_id}: ${p.passed ? "passed" : "failed"} (${p.tests_passed ?? 0}✓ ${p.tests_failed ?? 0}✗)`;
    case "council.result":
      return `winner ${p.winner} after ${revisions(p.rounds)}`;
    case "decision.made":
      return short(p.what);
    case "sandbox.run":
      return redStep(p) || `sandbox ${(d.argv || []).slice(0, 4).join(" ")}: ${p.status}`;
    case "workspace.report":
      return `workspace ${d.task_id}: build ${p.build_ok ? "ok" : "FAILED"}, ${p.unit_passed ?? 0} passed / ${p.unit_failed ?? 0} failed`;
    case "gate.result":
      return `rigor gate ${p.profile}: ${p.verdict} (${Math.round(p.score ?? 0)}/100)`;
    case "model.usage":
      return `${p.role} on ${p.model}: ${p.prompt_tokens}+${p.completion_tokens} tokens`;
    case "docs.written":
      return "documentation written";
    case "story.done":
      return `finished: ${d.outcome}`;
    default:
      return short(Object.entries(d).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", "));
  }
}

// The current plan: task.planned events since the last entry into DESIGN.
export function plan(events) {
  let tasks = new Map();
  for (const ev of events) {
    if (ev.type === "story.transition" && ev.data?.to === "DESIGN") tasks = new Map();
    if (ev.type === "task.planned" && ev.payload) tasks.set(ev.payload.id, ev.payload);
  }
  return [...tasks.values()];
}

const byId = (list) => new Map(list.map((x) => [x.id, x]));

function mergeList(live, final, key = "id") {
  const m = new Map(live.map((x) => [x[key], x]));
  for (const x of final || []) m.set(x[key], x);
  return [...m.values()];
}

// One entry per deliberation: live events, completed by the council.result payload when it lands.
export function councils(events) {
  const out = new Map();
  const get = (id) => {
    if (!out.has(id))
      out.set(id, { id, task_id: null, members: [], rounds: 0, rule: null, proposals: [], critiques: [], ballots: [], skipped: [], evidence: [], tally: null, winner: null, done: false, decision: null });
    return out.get(id);
  };
  for (const ev of events) {
    const p = ev.payload || {};
    const d = ev.data || {};
    if (ev.type === "deliberation.started") {
      const c = get(d.deliberation_id);
      Object.assign(c, { task_id: d.task_id ?? c.task_id, members: d.members || [], rounds: d.rounds ?? 0, rule: d.rule ?? null });
    } else if (ev.type === "council.round_completed" && Array.isArray(d.skipped)) {
      // ballots not asked for: the round's evidence already decided (one line per reason)
      get(d.deliberation_id).skipped.push(...d.skipped.map((why) => ({ round: d.round ?? 0, why })));
    } else if (ev.type === "council.proposal") get(p.deliberation_id).proposals.push(p);
    else if (ev.type === "council.critique") get(p.deliberation_id).critiques.push(p);
    else if (ev.type === "council.ballot") get(p.deliberation_id).ballots.push(p);
    else if (ev.type === "council.evidence") {
      const owner = [...out.values()].find((c) => c.proposals.some((x) => x.id === p.proposal_id));
      if (owner) owner.evidence.push({ ...p, id: p.proposal_id });
    } else if (ev.type === "council.result") {
      const c = get(p.id);
      c.task_id = p.task_id ?? c.task_id;
      c.members = p.members?.length ? p.members : c.members;
      c.rounds = p.rounds ?? c.rounds;
      c.proposals = mergeList(c.proposals, p.proposals);
      c.critiques = mergeList(c.critiques, p.critiques);
      c.ballots = mergeList(c.ballots, p.ballots);
      c.evidence = mergeList(c.evidence, (p.evidence || []).map((e) => ({ ...e, id: e.proposal_id })));
      c.tally = p.tally || null;
      c.winner = p.winner || null;
      c.missing = p.missing || {};
      c.done = true;
    } else if (ev.type === "decision.made" && p.deliberation_id && out.has(p.deliberation_id))
      out.get(p.deliberation_id).decision = p;
  }
  return [...out.values()];
}

export function evidenceOf(council, proposalId) {
  return byId(council.evidence).get(proposalId) || null;
}

// What the winners change: each finished council's winning patch (or content when no patch).
export function finalChanges(list) {
  return list
    .filter((c) => c.done && c.winner)
    .map((c) => ({ council: c, proposal: c.proposals.find((p) => p.id === c.winner) }))
    .filter((x) => x.proposal);
}

export function usage(events) {
  const rows = new Map();
  const total = { calls: 0, prompt: 0, completion: 0, cost: 0, latency: 0 };
  for (const ev of events) {
    if (ev.type !== "model.usage" || !ev.payload) continue;
    const p = ev.payload;
    const k = `${p.role}\u0000${p.model}`;
    const r = rows.get(k) || { role: p.role, model: p.model, calls: 0, prompt: 0, completion: 0, cost: 0, latency: 0 };
    for (const t of [r, total]) {
      t.calls += 1;
      t.prompt += p.prompt_tokens || 0;
      t.completion += p.completion_tokens || 0;
      t.cost += p.cost || 0;
      t.latency += p.latency_ms || 0;
    }
    rows.set(k, r);
  }
  return { rows: [...rows.values()], total };
}

export function verification(events) {
  const reports = [];
  const gates = [];
  for (const ev of events) {
    if (ev.type === "workspace.report" && ev.payload) reports.push({ ...ev.payload, ...ev.data, attempt: ev.data?.attempt ?? 0 });
    if (ev.type === "gate.result" && ev.payload) gates.push({ ...ev.payload, task_id: ev.data?.task_id, attempt: ev.data?.attempt ?? 0 });
  }
  return { reports, gates };
}

export const fmtTime = (ms) => (ms ? new Date(ms).toLocaleTimeString() : "");
