// The plan as a DAG: tasks in columns by depth (longest chain of depends_on), edges as curves.
const NW = 230;
const NH = 58;
const CG = 60;
const RG = 16;

function depths(tasks) {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const memo = new Map();
  const depth = (t, seen = new Set()) => {
    if (memo.has(t.id)) return memo.get(t.id);
    if (seen.has(t.id)) return 0;
    seen.add(t.id);
    const deps = (t.depends_on || []).map((d) => byId.get(d)).filter(Boolean);
    const d = deps.length ? 1 + Math.max(...deps.map((x) => depth(x, seen))) : 0;
    memo.set(t.id, d);
    return d;
  };
  tasks.forEach((t) => depth(t));
  return memo;
}

const clip = (s, n) => (s.length <= n ? s : s.slice(0, n - 1) + "…");

export default function PlanDag({ tasks }) {
  if (!tasks.length) return <p className="text-sm text-slate-500">No plan yet: the architect plans in DESIGN.</p>;
  const d = depths(tasks);
  const cols = [];
  tasks.forEach((t) => {
    const c = d.get(t.id) || 0;
    (cols[c] = cols[c] || []).push(t);
  });
  const pos = new Map();
  cols.forEach((col, c) => col.forEach((t, r) => pos.set(t.id, { x: 10 + c * (NW + CG), y: 10 + r * (NH + RG) })));
  const width = 20 + cols.length * (NW + CG) - CG;
  const height = 20 + Math.max(...cols.map((c) => c.length)) * (NH + RG) - RG;
  return (
    <svg viewBox={`0 0 ${width} ${height}`} className="w-full" style={{ maxWidth: `${width}px` }} data-testid="plan-dag">
      {tasks.flatMap((t) =>
        (t.depends_on || [])
          .filter((dep) => pos.has(dep))
          .map((dep) => {
            const a = pos.get(dep);
            const b = pos.get(t.id);
            const x1 = a.x + NW;
            const y1 = a.y + NH / 2;
            const x2 = b.x;
            const y2 = b.y + NH / 2;
            return <path key={`${dep}-${t.id}`} d={`M ${x1} ${y1} C ${x1 + 30} ${y1}, ${x2 - 30} ${y2}, ${x2} ${y2}`} fill="none" stroke="#94a3b8" strokeWidth="1.5" />;
          }),
      )}
      {tasks.map((t) => {
        const p = pos.get(t.id);
        return (
          <g key={t.id} data-task={t.id}>
            <rect x={p.x} y={p.y} width={NW} height={NH} rx="6" fill="#fff" stroke="#6366f1" />
            <text x={p.x + 8} y={p.y + 18} fontSize="11" fontWeight="700" fill="#3730a3">
              {clip(`${t.id} · ${t.role}${t.phase ? ` · ${t.phase}` : ""}`, 36)}
            </text>
            <text x={p.x + 8} y={p.y + 36} fontSize="11" fill="#334155">
              {clip(t.description || "", 38)}
            </text>
            <title>{t.description}</title>
          </g>
        );
      })}
    </svg>
  );
}
