package webqq

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ptui is a parsed ptlogin JavaScript callback such as
// ptuiCB('0','0','<url>','0','登录成功！', 'nick'). The original reads only
// the single-quoted arguments, in order, and ignores the callback name
// (spec §15.2h, §15.1c); so does this.
type ptui struct {
	Code int
	Args []string // every quoted argument, Args[0] being the code
}

// arg returns argument i, or "" when the callback has fewer.
func (p ptui) arg(i int) string {
	if i < len(p.Args) {
		return p.Args[i]
	}
	return ""
}

var errNoPtui = errors.New("no quoted callback arguments")

// parsePtui extracts the quoted arguments of a ptlogin callback. The first
// must be a decimal code.
func parsePtui(body []byte) (ptui, error) {
	args := quotedArgs(string(body))
	if len(args) == 0 {
		return ptui{}, fmt.Errorf("webqq: ptlogin answer %q: %w", abbrev(body), errNoPtui)
	}
	code, err := strconv.Atoi(strings.TrimSpace(args[0]))
	if err != nil {
		return ptui{}, fmt.Errorf("webqq: ptlogin answer code %q: not a number", abbrev([]byte(args[0])))
	}
	return ptui{Code: code, Args: args}, nil
}

// quotedArgs returns the contents of every '…' pair, as the Perl /'(.*?)'/g.
func quotedArgs(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '\'')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i+1:], '\'')
		if j < 0 {
			return out
		}
		out = append(out, s[i+1:i+1+j])
		s = s[i+1+j+1:]
	}
}

// unescapeJS decodes the backslash escapes of a JavaScript string literal as
// ptlogin writes the md5 salt ("\x00\x00\x00\x00\xb7\x23\xc2\x72"); the
// original evaluated it as a Perl string for the same effect.
func unescapeJS(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("webqq: escape at end of %q", s)
		}
		i++
		switch s[i] {
		case 'x':
			if i+3 > len(s) {
				return "", fmt.Errorf("webqq: short \\x escape in %q", s)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf("webqq: bad \\x escape in %q", s)
			}
			b.WriteByte(byte(v))
			i += 2
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '0':
			b.WriteByte(0)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// abbrev shortens a body for an error message.
func abbrev(b []byte) string {
	const max = 120
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
