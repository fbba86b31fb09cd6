package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress is the status line of a run on a terminal. Every step redraws it
// in place: a carriage return, the line cut to the terminal's width (a line
// that wrapped could not be redrawn), then "erase to the end of the line",
// so a short line leaves nothing of a longer one before it. Written anywhere
// but to a terminal (a file, a pipe, a CI log) it draws nothing: the
// results are the output, and a log of redraws helps no one.
type progress struct {
	w     io.Writer // nil: draw nothing
	width int
	now   func() time.Time

	start          time.Time
	total, n       int
	measures, done int       // measuring steps planned and begun
	firstMeasure   time.Time // when the first measuring step began
	drawn          bool
}

// eraseLine is the ANSI "erase in line" sequence, cursor to end of line.
const eraseLine = "\x1b[K"

// newProgress returns the status line for w: drawn if w is a terminal.
func newProgress(w io.Writer) *progress {
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		return newTerminalProgress(w, terminalWidth(f), time.Now)
	}
	return &progress{now: time.Now}
}

// newTerminalProgress returns a status line drawn on w, a terminal of width
// columns (80 if unknown), reading the time from now.
func newTerminalProgress(w io.Writer, width int, now func() time.Time) *progress {
	if width <= 0 {
		width = 80
	}
	return &progress{w: w, width: width, now: now}
}

// begin starts the clock: setup steps, then measures measuring steps.
func (p *progress) begin(setup, measures int) {
	p.start = p.now()
	p.total = setup + measures
	p.measures = measures
}

// step begins a setup step (generating, loading).
func (p *progress) step(label string) {
	p.n++
	p.draw(label, "")
}

// measure begins a measuring step. The time left is estimated from the
// measuring steps done so far.
func (p *progress) measure(label string) {
	p.n++
	now := p.now()
	if p.done == 0 {
		p.firstMeasure = now
	}
	left := ""
	if p.done > 0 {
		per := now.Sub(p.firstMeasure) / time.Duration(p.done)
		left = "~" + fmtClock(per*time.Duration(p.measures-p.done)) + " left"
	}
	p.done++
	p.draw(label, left)
}

func (p *progress) draw(label, left string) {
	if p.w == nil {
		return
	}
	const barWidth = 20
	filled := barWidth * (p.n - 1) / max(1, p.total)
	line := fmt.Sprintf("[%s%s] %d/%d %s", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled),
		p.n, p.total, fmtClock(p.now().Sub(p.start)))
	if left != "" {
		line += ", " + left
	}
	line += "  " + label
	// The last column is left empty: writing into it makes some terminals
	// wrap at once.
	if r := []rune(line); len(r) > p.width-1 {
		line = string(r[:p.width-1])
	}
	fmt.Fprint(p.w, "\r"+line+eraseLine)
	p.drawn = true
}

// clear erases the line, so that what is printed next starts clean.
func (p *progress) clear() {
	if p.w != nil && p.drawn {
		fmt.Fprint(p.w, "\r"+eraseLine)
		p.drawn = false
	}
}

// fmtClock prints a duration as 1m05s or 42s.
func fmtClock(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
}
