import { useEffect, useState } from 'react'

type Note = { id: number; text: string; created: string }

const STORAGE_KEY = 'kiln-notes'

function loadNotes(): Note[] {
  try {
    const raw = localStorage.getItem(STORAGE_KEY)
    return raw ? (JSON.parse(raw) as Note[]) : []
  } catch {
    return []
  }
}

export default function Notes() {
  const [notes, setNotes] = useState<Note[]>(loadNotes)
  const [draft, setDraft] = useState('')

  useEffect(() => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(notes))
  }, [notes])

  function saveNote() {
    const text = draft.trim()
    if (!text) return
    setNotes([{ id: Date.now(), text, created: new Date().toLocaleString() }, ...notes])
    setDraft('')
  }

  return (
    <section className="card" data-testid="notes">
      <h2>Notes</h2>
      <textarea
        value={draft}
        onChange={(event) => setDraft(event.target.value)}
        placeholder="Write a note…"
        aria-label="New note"
      />
      <div className="row">
        <button onClick={saveNote}>Save note</button>
        <span className="muted">{notes.length} saved</span>
      </div>
      <ul className="list">
        {notes.map((note) => (
          <li key={note.id}>
            <span>
              {note.text}
              <br />
              <small className="muted">{note.created}</small>
            </span>
            <button
              className="ghost"
              onClick={() => setNotes(notes.filter((n) => n.id !== note.id))}
              aria-label="Delete note"
            >
              ✕
            </button>
          </li>
        ))}
      </ul>
    </section>
  )
}
