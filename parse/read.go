package parse

// MaxLineBytes is the longest line kept whole; the rest of a longer line is dropped and the line is
// marked with how many bytes were cut, so even pathological input cannot exhaust memory.
const MaxLineBytes = 16 << 20

// readBufSize is the read chunk: big enough that a typical debug line never straddles two reads
// more than once in a few thousand lines.
const readBufSize = 1 << 20

// batchLineCost makes short lines count towards a batch too, so a batch is at most about 16k
// lines even when they are tiny.
const batchLineCost = readBufSize / (16 << 10)

// addSummary adds b to a, the running total of several inputs.
func addSummary(a, b Summary, first bool) Summary {
	if first {
		return b
	}
	a.Lines += b.Lines
	a.Events += b.Events
	a.NotUnderstood += b.NotUnderstood
	a.Ambiguous += b.Ambiguous
	a.LongLines += b.LongLines
	for i := range a.BySyntax {
		a.BySyntax[i] += b.BySyntax[i]
	}
	a.Packages = append(a.Packages, b.Packages...)
	if b.Final == StatusFail || a.Final == StatusUnknown {
		a.Final = b.Final
	}
	if a.Format != b.Format {
		a.Format = FormatAuto // mixed
	}
	return a
}
