package middleware

import "strings"

// validTargeted reports whether the field lines of a targeted cache-control
// field (RFC 9213 §2.2) hold a valid, non-empty value: a structured-field
// Dictionary (RFC 8941 §3.2). An invalid or empty one is ignored, as if
// the field were absent.
func validTargeted(lines []string) bool {
	s := strings.Trim(strings.Join(lines, ","), " ")
	if s == "" {
		return false
	}
	for {
		var ok bool
		if s, ok = sfKey(s); !ok {
			return false
		}
		if len(s) > 0 && s[0] == '=' {
			if s, ok = sfItemOrInnerList(s[1:]); !ok {
				return false
			}
		} else if s, ok = sfParams(s); !ok {
			return false
		}
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return true
		}
		if s[0] != ',' {
			return false
		}
		s = strings.TrimLeft(s[1:], " \t")
		if s == "" {
			return false // a trailing comma
		}
	}
}

// sfKey consumes a key: ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ).
func sfKey(s string) (string, bool) {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] == '*') {
		return s, false
	}
	i := 1
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9' || strings.IndexByte("_-.*", s[i]) >= 0) {
		i++
	}
	return s[i:], true
}

// sfItemOrInnerList consumes an Item or an Inner List, with parameters.
func sfItemOrInnerList(s string) (string, bool) {
	if len(s) == 0 || s[0] != '(' {
		return sfItem(s)
	}
	s = s[1:]
	for {
		s = strings.TrimLeft(s, " ")
		if len(s) > 0 && s[0] == ')' {
			return sfParams(s[1:])
		}
		var ok bool
		if s, ok = sfItem(s); !ok {
			return s, false
		}
		if len(s) == 0 || s[0] != ' ' && s[0] != ')' {
			return s, false
		}
	}
}

// sfItem consumes a bare item and its parameters.
func sfItem(s string) (string, bool) {
	var ok bool
	if s, ok = sfBareItem(s); !ok {
		return s, false
	}
	return sfParams(s)
}

// sfParams consumes *( ";" *SP key [ "=" bare-item ] ).
func sfParams(s string) (string, bool) {
	for len(s) > 0 && s[0] == ';' {
		var ok bool
		if s, ok = sfKey(strings.TrimLeft(s[1:], " ")); !ok {
			return s, false
		}
		if len(s) > 0 && s[0] == '=' {
			if s, ok = sfBareItem(s[1:]); !ok {
				return s, false
			}
		}
	}
	return s, true
}

// sfBareItem consumes an Integer, Decimal, String, Token, Byte Sequence or
// Boolean.
func sfBareItem(s string) (string, bool) {
	if s == "" {
		return s, false
	}
	switch c := s[0]; {
	case c == '-' || c >= '0' && c <= '9':
		return sfNumber(s)
	case c == '"':
		for i := 1; i < len(s); i++ {
			switch {
			case s[i] == '\\':
				if i+1 >= len(s) || s[i+1] != '"' && s[i+1] != '\\' {
					return s, false
				}
				i++
			case s[i] == '"':
				return s[i+1:], true
			case s[i] < 0x20 || s[i] > 0x7e:
				return s, false
			}
		}
		return s, false
	case c == '*' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		i := 1
		for i < len(s) && (isTokenChar(s[i]) || s[i] == ':' || s[i] == '/') {
			i++
		}
		return s[i:], true
	case c == ':':
		i := 1
		for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9' || strings.IndexByte("+/=", s[i]) >= 0) {
			i++
		}
		if i == len(s) || s[i] != ':' {
			return s, false
		}
		return s[i+1:], true
	case c == '?':
		if len(s) < 2 || s[1] != '0' && s[1] != '1' {
			return s, false
		}
		return s[2:], true
	}
	return s, false
}

// sfNumber consumes an Integer (up to 15 digits) or a Decimal (up to 12
// digits, a dot, 1 to 3 digits).
func sfNumber(s string) (string, bool) {
	i := 0
	if s[0] == '-' {
		i = 1
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intDigits := i - start
	if intDigits == 0 {
		return s, false
	}
	if i == len(s) || s[i] != '.' {
		return s[i:], intDigits <= 15
	}
	i++
	fracStart := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	frac := i - fracStart
	return s[i:], intDigits <= 12 && frac >= 1 && frac <= 3
}
