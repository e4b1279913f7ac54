package profile

import "strings"

// RFC 3339 stamps (2026-11-23T10:35:24.098Z, ...+01:00) are what most loggers write: hclog, zap's
// ISO 8601 encoder, slog, logrus, zerolog. time.Parse reads one in about a tenth of a profile
// line's budget, so they are read by hand; anything unusual is left to time.Parse.

// UnixNanoRFC3339 reads YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HHMM|...) as Unix nanoseconds.
// It returns false for anything else (then time.Parse decides).
func UnixNanoRFC3339(s string) (int64, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	rest := s[19:]
	var nanos int64
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return 0, false
		}
		f, _ := digits(rest[1:min(n, 10)]) // digits past nanoseconds are dropped, as time.Parse does
		for i := n; i <= 9; i++ {
			f *= 10
		}
		nanos, rest = int64(f), rest[n:]
	}
	var offset int64
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':', // +01:00
		len(rest) == 5 && (rest[0] == '+' || rest[0] == '-'): // +0100
		hh, ok1 := digits(rest[1:3])
		mm, ok2 := digits(rest[len(rest)-2:])
		if !ok1 || !ok2 || hh > 24 || mm > 60 { // time.Parse allows 24 hours and 60 minutes
			return 0, false
		}
		offset = int64(hh*3600 + mm*60)
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	secs := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec) - offset
	return secs*1e9 + nanos, true
}

// isRFC3339Layout reports whether a Go time layout reads exactly what UnixNanoRFC3339 reads:
// RFC 3339 with an optional fraction and a Z-or-offset zone.
func isRFC3339Layout(layout string) bool {
	rest, ok := strings.CutPrefix(layout, "2006-01-02T15:04:05")
	if !ok {
		return false
	}
	if f, ok := strings.CutPrefix(rest, "."); ok {
		i := 0
		for i < len(f) && f[i] == '9' { // .999: optional digits (.000 wants exactly that many)
			i++
		}
		if i == 0 {
			return false
		}
		rest = f[i:]
	}
	return rest == "Z07:00" || rest == "Z0700"
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

func daysIn(month, year int) int {
	if month == 2 {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - (month-1)%7%2
}

// daysFromCivil is the number of days from 1970-01-01 to a date of the proleptic Gregorian
// calendar (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
