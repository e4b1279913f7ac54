package profile

import "bytes"

// Stamps remembers the last time stamp a profile read in one input, for the next line's. Lines
// of a log mostly share their second, and time.Parse (with the zone lookup of a stamp without
// a zone) was a tenth of an inferred profile's parse time. Only the fraction at the end of a
// stamp ("21:42:02.475") differs between lines of the same second, and it is added by hand.
// The zero value is ready; one Stamps serves one input (it is not safe for concurrent use).
type Stamps struct {
	p       *Profile
	key     []byte // the last stamp read, without its fraction
	base    int64  // its time without the fraction
	hasDate bool
	// line and node are room for the slots of a line's match and of its message's node, which
	// are read before the next line is: no allocation per line.
	line, node [maxStackSlots]int
}

// lineSlots is room for a line's match (nil without Stamps).
func (st *Stamps) lineSlots() []int {
	if st == nil {
		return nil
	}
	return st.line[:0]
}

// nodeSlots is room for a message's node match (nil without Stamps).
func (st *Stamps) nodeSlots() []int {
	if st == nil {
		return nil
	}
	return st.node[:0]
}

// splitFraction returns a stamp without the fraction its layout ends with, and the fraction's
// digits ("" when the layout has none or the stamp does not end with 1-9 digits after . or ,).
func (p *Profile) splitFraction(ts []byte) (key, frac []byte) {
	if !p.fracAtEnd {
		return ts, nil
	}
	i := bytes.LastIndexAny(ts, ".,")
	if i < 0 || len(ts)-i-1 < 1 || len(ts)-i-1 > 9 {
		return ts, nil
	}
	for _, c := range ts[i+1:] {
		if c < '0' || c > '9' {
			return ts, nil
		}
	}
	return ts[:i], ts[i+1:]
}

// fractionNanos is the nanoseconds of a fraction's digits ("475" is 475ms).
func fractionNanos(frac []byte) int64 {
	n := int64(0)
	for _, c := range frac {
		n = n*10 + int64(c-'0')
	}
	for i := len(frac); i < 9; i++ {
		n *= 10
	}
	return n
}

// layoutEndsWithFraction reports whether a Go time layout ends with fractional seconds
// (".000", ",999999").
func layoutEndsWithFraction(layout string) bool {
	i := len(layout)
	for i > 0 && (layout[i-1] == '0' || layout[i-1] == '9') {
		i--
	}
	return i < len(layout) && i > 0 && (layout[i-1] == '.' || layout[i-1] == ',')
}

// lookup returns the time of a stamp whose part before the fraction is the last one read.
func (st *Stamps) lookup(p *Profile, key, frac []byte, r *Record) bool {
	if st == nil || st.p != p || st.key == nil || !bytes.Equal(st.key, key) {
		return false
	}
	r.Time, r.HasTime, r.HasDate = st.base+fractionNanos(frac), true, st.hasDate
	return true
}

// remember keeps what a stamp read as the next lines' base.
func (st *Stamps) remember(p *Profile, key, frac []byte, r *Record) {
	if st == nil {
		return
	}
	st.p, st.key = p, append(st.key[:0], key...)
	st.base, st.hasDate = r.Time-fractionNanos(frac), r.HasDate
}
