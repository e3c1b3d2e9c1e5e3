// The story state machine as a diagram: states left to right, PO gates marked, loop-backs as
// arcs underneath, the current state filled and the states already visited outlined.
const W = 118;
const H = 44;
const GAP = 40;

export default function Lifecycle({ lifecycle, state, visited, parkedGate }) {
  if (!lifecycle) return null;
  const states = lifecycle.states;
  const x = (s) => 10 + states.indexOf(s) * (W + GAP);
  const width = 20 + states.length * (W + GAP) - GAP;
  const forward = lifecycle.transitions.filter((t) => !t.loop_back);
  const back = lifecycle.transitions.filter((t) => t.loop_back);
  return (
    <svg viewBox={`0 0 ${width} 128`} className="w-full" role="img" aria-label={`lifecycle, current state ${state}`} data-testid="lifecycle">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="#64748b" />
        </marker>
      </defs>
      {forward.map((t) => {
        const x1 = x(t.source) + W;
        const x2 = x(t.target);
        const gate = t.human_gate;
        const waiting = gate && gate === parkedGate && t.source === state;
        return (
          <g key={t.name}>
            <line x1={x1} y1={40} x2={x2 - 2} y2={40} stroke="#64748b" strokeWidth="1.5" markerEnd="url(#arrow)" />
            {gate && (
              <text x={(x1 + x2) / 2} y={30} textAnchor="middle" fontSize="10" fill={waiting ? "#b45309" : "#6366f1"} fontWeight={waiting ? 700 : 400}>
                {waiting ? "PO ‖" : "PO"}
              </text>
            )}
          </g>
        );
      })}
      {back.map((t, i) => {
        const x1 = x(t.source) + W / 2;
        const x2 = x(t.target) + W / 2;
        const y = 62 + 10;
        const depth = 95 + i * 22;
        return (
          <g key={t.name}>
            <path d={`M ${x1} ${y - 10} C ${x1} ${depth}, ${x2} ${depth}, ${x2} ${y - 8}`} fill="none" stroke="#94a3b8" strokeDasharray="4 3" markerEnd="url(#arrow)" />
            <text x={(x1 + x2) / 2} y={depth - 4} textAnchor="middle" fontSize="10" fill="#64748b">
              {t.name}
            </text>
          </g>
        );
      })}
      {states.map((s) => {
        const current = s === state;
        const seen = visited.has(s);
        return (
          <g key={s} data-state={s} data-current={current ? "true" : undefined}>
            <rect
              x={x(s)}
              y={18}
              width={W}
              height={H}
              rx="8"
              fill={current ? (parkedGate ? "#f59e0b" : "#4f46e5") : seen ? "#e0e7ff" : "#ffffff"}
              stroke={current ? "none" : seen ? "#818cf8" : "#cbd5e1"}
              strokeWidth="1.5"
            />
            <text x={x(s) + W / 2} y={45} textAnchor="middle" fontSize="13" fontWeight="600" fill={current ? "#ffffff" : "#334155"}>
              {s}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
