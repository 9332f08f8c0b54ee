package grants

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

type tokenKind uint8

const (
	tokEOF     tokenKind = iota
	tokWord              // bare identifier or keyword
	tokQIdent            // `backquoted identifier`
	tokString            // 'string' (or ‘string’)
	tokDString           // "string", only meaningful inside a WHERE predicate
	tokNumber            // 123, 1.5e3: only meaningful inside a WHERE predicate
	tokPunct             // ; , . ( )
	tokOther             // any other character, e.g. an operator in a predicate
)

type token struct {
	kind tokenKind
	// text is the token's value: the word, the identifier without its
	// backquotes, the string without its quotes, or the character.
	text string
	// start and end are byte offsets of the token in the source.
	start, end int
	line, col  int
	// spaceBefore reports whether blanks or comments precede the token.
	spaceBefore bool
}

// describe returns how an error message names the token.
func (t token) describe(src string) string {
	if t.kind == tokEOF {
		return "end of input"
	}
	return fmt.Sprintf("%q", src[t.start:t.end])
}

// lex splits src into tokens, ending with a tokEOF token.
func lex(src string) ([]token, error) {
	var toks []token
	i, line, col := 0, 1, 1
	space := false
	// advance moves over n bytes of src that hold no newline.
	advance := func(n int) {
		col += utf8.RuneCountInString(src[i : i+n])
		i += n
	}
	for {
		if i >= len(src) {
			toks = append(toks, token{kind: tokEOF, start: i, end: i, line: line, col: col, spaceBefore: space})
			return toks, nil
		}
		c := src[i]
		switch {
		case c == '\n':
			i++
			line++
			col = 1
			space = true
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			advance(1)
			space = true
			continue
		case c == '-' && strings.HasPrefix(src[i:], "--"):
			n := strings.IndexByte(src[i:], '\n')
			if n < 0 {
				n = len(src) - i
			}
			advance(n)
			space = true
			continue
		}
		t := token{start: i, line: line, col: col, spaceBefore: space}
		space = false
		r, w := utf8.DecodeRuneInString(src[i:])
		switch {
		case isIdentStart(c):
			n := 1
			for i+n < len(src) && isIdentPart(src[i+n]) {
				n++
			}
			t.kind, t.text = tokWord, src[i:i+n]
			advance(n)
		case c >= '0' && c <= '9':
			n := 1
			for i+n < len(src) && (isIdentPart(src[i+n]) || src[i+n] == '.') {
				n++
			}
			t.kind, t.text = tokNumber, src[i:i+n]
			advance(n)
		case c == '`':
			body, n, err := quoted(src[i+1:], "`")
			if err != nil {
				return nil, &SyntaxError{Line: line, Col: col, Msg: "unterminated backquoted identifier"}
			}
			if body == "" {
				return nil, &SyntaxError{Line: line, Col: col, Msg: "empty backquoted identifier"}
			}
			if strings.ContainsFunc(body, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				return nil, &SyntaxError{Line: line, Col: col, Msg: "control character in backquoted identifier"}
			}
			t.kind, t.text = tokQIdent, body
			advance(1 + n)
		case c == '\'' || r == '‘' || r == '’':
			body, n, err := quoted(src[i+w:], "'’")
			if err != nil {
				return nil, &SyntaxError{Line: line, Col: col, Msg: "unterminated string literal (strings end on the same line)"}
			}
			t.kind, t.text = tokString, body
			advance(w + n)
		case c == '"':
			body, n, err := quoted(src[i+1:], `"`)
			if err != nil {
				return nil, &SyntaxError{Line: line, Col: col, Msg: "unterminated string literal (strings end on the same line)"}
			}
			t.kind, t.text = tokDString, body
			advance(1 + n)
		case c == ';' || c == ',' || c == '.' || c == '(' || c == ')':
			t.kind, t.text = tokPunct, src[i:i+1]
			advance(1)
		default:
			t.kind, t.text = tokOther, src[i:i+w]
			advance(w)
		}
		t.end = i
		toks = append(toks, t)
	}
}

// quoted returns the text of s up to the first rune of closers, and how many
// bytes that text and its closing quote take. The quote must close before the
// end of the line.
func quoted(s, closers string) (string, int, error) {
	for j, r := range s {
		if r == '\n' {
			break
		}
		if strings.ContainsRune(closers, r) {
			return s[:j], j + utf8.RuneLen(r), nil
		}
	}
	return "", 0, errUnterminated
}

var errUnterminated = fmt.Errorf("unterminated")

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9')
}
