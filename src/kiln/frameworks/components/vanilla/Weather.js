import { h } from './dom.js'

// Sample data: a real app would fetch this from a weather API.
const SAMPLE = [
  { city: 'Lisbon', tempC: 22, sky: 'Sunny', icon: '☀️' },
  { city: 'Oslo', tempC: 8, sky: 'Rain', icon: '🌧️' },
  { city: 'Tokyo', tempC: 18, sky: 'Cloudy', icon: '☁️' },
  { city: 'Cairo', tempC: 31, sky: 'Clear', icon: '🌤️' },
]

export function mountWeather(root) {
  let fahrenheit = false
  const query = h('input', { placeholder: 'Filter cities', 'aria-label': 'City' })
  const unit = h('button', { class: 'ghost' }, 'Show °F')
  const tiles = h('div', { class: 'tiles', style: 'margin-top: 0.75rem' })

  const temp = (c) => (fahrenheit ? `${Math.round((c * 9) / 5 + 32)} °F` : `${c} °C`)

  function render() {
    const q = query.value.trim().toLowerCase()
    unit.textContent = `Show ${fahrenheit ? '°C' : '°F'}`
    tiles.replaceChildren(
      ...SAMPLE.filter((f) => f.city.toLowerCase().includes(q)).map((f) =>
        h(
          'div',
          { class: 'tile' },
          h('div', { style: 'font-size: 2rem' }, f.icon),
          h('strong', {}, f.city),
          h('div', { class: 'big', style: 'font-size: 1.5rem' }, temp(f.tempC)),
          h('div', { class: 'muted' }, f.sky),
        ),
      ),
    )
  }

  query.addEventListener('input', render)
  unit.addEventListener('click', () => {
    fahrenheit = !fahrenheit
    render()
  })

  root.append(
    h(
      'section',
      { class: 'card wide', 'data-testid': 'weather' },
      h('h2', {}, 'Weather'),
      h('div', { class: 'row' }, query, unit),
      tiles,
      h('p', { class: 'muted' }, 'Sample data — connect a weather API to make it live.'),
    ),
  )
  render()
}
