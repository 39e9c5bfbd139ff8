import { useState } from 'react'

type Forecast = { city: string; tempC: number; sky: string; icon: string }

// Sample data: a real app would fetch this from a weather API.
const SAMPLE: Forecast[] = [
  { city: 'Lisbon', tempC: 22, sky: 'Sunny', icon: '☀️' },
  { city: 'Oslo', tempC: 8, sky: 'Rain', icon: '🌧️' },
  { city: 'Tokyo', tempC: 18, sky: 'Cloudy', icon: '☁️' },
  { city: 'Cairo', tempC: 31, sky: 'Clear', icon: '🌤️' },
]

export default function Weather() {
  const [fahrenheit, setFahrenheit] = useState(false)
  const [query, setQuery] = useState('')

  const shown = SAMPLE.filter((f) => f.city.toLowerCase().includes(query.trim().toLowerCase()))
  const temp = (c: number) => (fahrenheit ? `${Math.round((c * 9) / 5 + 32)} °F` : `${c} °C`)

  return (
    <section className="card wide" data-testid="weather">
      <h2>Weather</h2>
      <div className="row">
        <input value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Filter cities" aria-label="City" />
        <button className="ghost" onClick={() => setFahrenheit(!fahrenheit)}>
          Show {fahrenheit ? '°C' : '°F'}
        </button>
      </div>
      <div className="tiles" style={{ marginTop: '0.75rem' }}>
        {shown.map((f) => (
          <div className="tile" key={f.city}>
            <div style={{ fontSize: '2rem' }}>{f.icon}</div>
            <strong>{f.city}</strong>
            <div className="big" style={{ fontSize: '1.5rem' }}>
              {temp(f.tempC)}
            </div>
            <div className="muted">{f.sky}</div>
          </div>
        ))}
      </div>
      <p className="muted">Sample data — connect a weather API to make it live.</p>
    </section>
  )
}
