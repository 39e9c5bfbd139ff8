import { useState } from 'react'

type Op = '+' | '−' | '×' | '÷'

function calculate(a: number, op: Op, b: number): number {
  switch (op) {
    case '+':
      return a + b
    case '−':
      return a - b
    case '×':
      return a * b
    case '÷':
      return b === 0 ? NaN : a / b
  }
}

export default function Calculator() {
  const [a, setA] = useState('12')
  const [b, setB] = useState('3')
  const [op, setOp] = useState<Op>('+')
  const [celsius, setCelsius] = useState('20')

  const result = calculate(Number(a), op, Number(b))
  const fahrenheit = (Number(celsius) * 9) / 5 + 32

  return (
    <section className="card" data-testid="calculator">
      <h2>Calculator</h2>
      <div className="row">
        <input type="number" value={a} onChange={(e) => setA(e.target.value)} aria-label="First number" />
        <select value={op} onChange={(e) => setOp(e.target.value as Op)} aria-label="Operator">
          <option>+</option>
          <option>−</option>
          <option>×</option>
          <option>÷</option>
        </select>
        <input type="number" value={b} onChange={(e) => setB(e.target.value)} aria-label="Second number" />
      </div>
      <p className="big">= {Number.isFinite(result) ? Number(result.toFixed(6)) : '—'}</p>
      <h2>Converter</h2>
      <div className="row">
        <input type="number" value={celsius} onChange={(e) => setCelsius(e.target.value)} aria-label="Celsius" />
        <span>°C = {Number(fahrenheit.toFixed(1))} °F</span>
      </div>
    </section>
  )
}
