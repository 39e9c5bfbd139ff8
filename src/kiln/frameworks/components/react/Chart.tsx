import { useState } from 'react'

type Point = { label: string; value: number }

const SAMPLE: Point[] = [
  { label: 'Jan', value: 420 },
  { label: 'Feb', value: 380 },
  { label: 'Mar', value: 510 },
  { label: 'Apr', value: 460 },
  { label: 'May', value: 620 },
  { label: 'Jun', value: 540 },
]

const WIDTH = 320
const HEIGHT = 160

export default function Chart() {
  const [data, setData] = useState<Point[]>(SAMPLE)
  const [label, setLabel] = useState('')
  const [value, setValue] = useState('')

  const max = Math.max(1, ...data.map((d) => d.value))
  const slot = WIDTH / Math.max(1, data.length)
  const total = data.reduce((sum, d) => sum + d.value, 0)

  function addPoint() {
    const v = Number(value)
    if (!label.trim() || !Number.isFinite(v) || v < 0) return
    setData([...data, { label: label.trim().slice(0, 6), value: v }])
    setLabel('')
    setValue('')
  }

  return (
    <section className="card wide" data-testid="chart">
      <h2>Overview</h2>
      <svg className="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT + 20}`} role="img" aria-label="Bar chart">
        {data.map((d, i) => {
          const h = (d.value / max) * HEIGHT
          return (
            <g key={`${d.label}-${i}`}>
              <rect x={i * slot + slot * 0.15} y={HEIGHT - h} width={slot * 0.7} height={h} rx={3}>
                <title>{`${d.label}: ${d.value}`}</title>
              </rect>
              <text x={i * slot + slot / 2} y={HEIGHT + 14} textAnchor="middle">
                {d.label}
              </text>
            </g>
          )
        })}
      </svg>
      <p className="muted">
        Total {total} · average {data.length ? Math.round(total / data.length) : 0}
      </p>
      <form
        className="row"
        onSubmit={(event) => {
          event.preventDefault()
          addPoint()
        }}
      >
        <input value={label} onChange={(e) => setLabel(e.target.value)} placeholder="Label" aria-label="Label" />
        <input
          type="number"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="Value"
          aria-label="Value"
        />
        <button type="submit">Add bar</button>
      </form>
    </section>
  )
}
