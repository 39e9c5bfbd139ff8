import './App.css'

export default function App() {
  return (
    <div className="app">
      <header className="app-header">
        <h1 data-testid="app-title">My kiln app</h1>
        <p className="tagline">Edit src/App.tsx to get started.</p>
      </header>
      <main className="app-main">
        <section className="card">
          <h2>Hello</h2>
          <p>This is a React + TypeScript app built with Vite.</p>
        </section>
      </main>
    </div>
  )
}
