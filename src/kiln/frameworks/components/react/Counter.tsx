import { useState } from 'react'

export default function Counter() {
  const [count, setCount] = useState(0)
  const [step, setStep] = useState(1)

  return (
    <section className="card" data-testid="counter">
      <h2>Counter</h2>
      <p className="big">{count}</p>
      <div className="row">
        <button onClick={() => setCount(count - step)}>−</button>
        <button onClick={() => setCount(count + step)}>+</button>
        <button className="ghost" onClick={() => setCount(0)}>
          Reset
        </button>
        <label className="row muted">
          step
          <input
            type="number"
            min={1}
            value={step}
            onChange={(event) => setStep(Math.max(1, Number(event.target.value) || 1))}
            style={{ width: '4rem', flex: 'none' }}
          />
        </label>
      </div>
    </section>
  )
}
