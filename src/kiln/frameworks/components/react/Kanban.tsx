import { useEffect, useState } from 'react'

type Card = { id: number; text: string; column: number }

const COLUMNS = ['To do', 'Doing', 'Done']
const STORAGE_KEY = 'kiln-kanban'

function loadCards(): Card[] {
  try {
    const raw = localStorage.getItem(STORAGE_KEY)
    if (raw) return JSON.parse(raw) as Card[]
  } catch {
    // fall through to the sample cards
  }
  return [
    { id: 1, text: 'Sketch the idea', column: 2 },
    { id: 2, text: 'Build the first screen', column: 1 },
    { id: 3, text: 'Share with a friend', column: 0 },
  ]
}

export default function Kanban() {
  const [cards, setCards] = useState<Card[]>(loadCards)
  const [text, setText] = useState('')

  useEffect(() => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(cards))
  }, [cards])

  function addCard() {
    const trimmed = text.trim()
    if (!trimmed) return
    setCards([...cards, { id: Date.now(), text: trimmed, column: 0 }])
    setText('')
  }

  function move(id: number, by: number) {
    setCards(cards.map((c) => (c.id === id ? { ...c, column: c.column + by } : c)))
  }

  return (
    <section className="card wide" data-testid="kanban">
      <h2>Board</h2>
      <form
        className="row"
        onSubmit={(event) => {
          event.preventDefault()
          addCard()
        }}
      >
        <input value={text} onChange={(e) => setText(e.target.value)} placeholder="New card" aria-label="New card" />
        <button type="submit">Add</button>
      </form>
      <div className="columns" style={{ marginTop: '0.75rem' }}>
        {COLUMNS.map((name, column) => (
          <div className="column" key={name}>
            <h3>{name}</h3>
            {cards
              .filter((c) => c.column === column)
              .map((card) => (
                <div className="ticket" key={card.id}>
                  <div>{card.text}</div>
                  <div className="row">
                    <button className="ghost" onClick={() => move(card.id, -1)} disabled={column === 0}>
                      ←
                    </button>
                    <button
                      className="ghost"
                      onClick={() => move(card.id, 1)}
                      disabled={column === COLUMNS.length - 1}
                    >
                      →
                    </button>
                    <button
                      className="ghost"
                      onClick={() => setCards(cards.filter((c) => c.id !== card.id))}
                      aria-label="Delete card"
                    >
                      ✕
                    </button>
                  </div>
                </div>
              ))}
          </div>
        ))}
      </div>
    </section>
  )
}
