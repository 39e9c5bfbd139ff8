import { useEffect, useState } from 'react'

function format(ms: number): string {
  const minutes = Math.floor(ms / 60000)
  const seconds = Math.floor((ms % 60000) / 1000)
  const tenths = Math.floor((ms % 1000) / 100)
  return `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}.${tenths}`
}

export default function Stopwatch() {
  const [elapsed, setElapsed] = useState(0)
  const [running, setRunning] = useState(false)
  const [laps, setLaps] = useState<number[]>([])

  useEffect(() => {
    if (!running) return
    let last = Date.now()
    const id = setInterval(() => {
      const now = Date.now()
      setElapsed((e) => e + now - last)
      last = now
    }, 100)
    return () => clearInterval(id)
  }, [running])

  function reset() {
    setRunning(false)
    setElapsed(0)
    setLaps([])
  }

  return (
    <section className="card" data-testid="timer">
      <h2>Stopwatch</h2>
      <p className="big">{format(elapsed)}</p>
      <div className="row">
        <button onClick={() => setRunning(!running)}>{running ? 'Pause' : 'Start'}</button>
        <button className="ghost" onClick={() => setLaps([elapsed, ...laps])} disabled={!running}>
          Lap
        </button>
        <button className="ghost" onClick={reset}>
          Reset
        </button>
      </div>
      <ol className="list">
        {laps.map((lap, i) => (
          <li key={laps.length - i}>
            <span>Lap {laps.length - i}</span>
            <code>{format(lap)}</code>
          </li>
        ))}
      </ol>
    </section>
  )
}
