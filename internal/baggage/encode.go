package baggage

import "strings"

// Encode writes members as a W3C baggage header, in order.
//
// Values are percent-encoded wherever the W3C grammar requires it, and '%'
// and '+' always are, so that readers which decode '+' as a space
// (OpenTelemetry Python, hence FastStream) read every value back unchanged.
// A member whose key is not a valid token is skipped, and properties that
// break the property grammar are left out: Encode never writes a header that
// Parse would reject.
func Encode(members []Member) string {
	var b strings.Builder
	n := 0
	for _, m := range members {
		n += len(m.Key) + len(m.Value) + len(m.Properties) + 3
	}
	b.Grow(n)
	first := true
	for _, m := range members {
		if !isToken(m.Key) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(m.Key)
		b.WriteByte('=')
		writeEscaped(&b, m.Value)
		if m.Properties != "" && validProperties(m.Properties) {
			b.WriteByte(';')
			b.WriteString(m.Properties)
		}
	}
	return b.String()
}

const hexDigits = "0123456789ABCDEF"

func writeEscaped(b *strings.Builder, v string) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if needsEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0x0f])
			continue
		}
		b.WriteByte(c)
	}
}

// needsEscape reports bytes outside baggage-octet, plus '%' and '+'.
func needsEscape(c byte) bool {
	return c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' || c == '%' || c == '+'
}
